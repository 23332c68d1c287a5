package daemon

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/walrus-go/walrus/client"
)

// TestClassifyBlobErrors: a read of a blob ID marked invalid answers 404
// BLOB_INCONSISTENT (never data, never "not found" alone); other missing
// blobs answer 404 BLOB_NOT_FOUND.
func TestClassifyBlobErrors(t *testing.T) {
	for _, tc := range []struct {
		err    error
		code   int
		reason string
	}{
		{fmt.Errorf("%w: x is marked invalid on chain", client.ErrBlobInvalid), http.StatusNotFound, ReasonBlobInconsistent},
		{fmt.Errorf("client: decoding blob x: %w", client.ErrInconsistentBlob), http.StatusNotFound, ReasonBlobInconsistent},
		{fmt.Errorf("%w: x: no live blob object", client.ErrBlobNotFound), http.StatusNotFound, ReasonBlobNotFound},
	} {
		got := classify(tc.err)
		if got.code != tc.code || got.reason != tc.reason || got.message != tc.err.Error() {
			t.Errorf("classify(%v) = %d %s %q, want %d %s and the error's message", tc.err, got.code, got.reason, got.message, tc.code, tc.reason)
		}
	}
}
