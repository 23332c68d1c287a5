package daemon

// Publisher JWT authentication, as Walrus's publisher does it
// (crates/walrus-service client/daemon/auth.rs): its flags --jwt-decode-secret,
// --jwt-algorithm, --jwt-expiring-sec, --jwt-verify-upload and
// --jwt-cache-size are the fields of JWTConfig; its claims, checks, error
// reasons and HTTP statuses are the same. Signatures are verified by
// github.com/golang-jwt/jwt/v5; the claims are checked here, in Walrus's
// order.

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/walrus-go/walrus/chain"
)

// JWTErrorDomain is the domain of the ErrorInfo of every authentication
// refusal, as Walrus's.
const JWTErrorDomain = "auth.publisher.walrus.space"

// Limits and defaults of JWT authentication.
const (
	// DefaultJWTCacheSize is how many token IDs (jti) the replay cache
	// holds by default, as Walrus's --jwt-cache-size.
	DefaultJWTCacheSize = 10_000
	// MaxJWTCacheSize bounds JWTConfig.CacheSize. An entry takes about 100
	// bytes (the jti is kept as its SHA-256).
	MaxJWTCacheSize = 1_000_000
	// MaxJWTLen bounds the bearer token the middleware parses, in bytes.
	MaxJWTLen = 8 << 10
	// JWTLeeway is the clock skew allowed on exp, nbf and iat: Walrus's JWT
	// library's default.
	JWTLeeway = 60 * time.Second
	// MaxJWTTimestamp bounds exp, iat and nbf (9999-12-31T23:59:59Z);
	// beyond it a token is refused with INVALID_TIMESTAMP.
	MaxJWTTimestamp = 253402300799
)

// Reasons of authentication refusals, Walrus's. The HTTP status of each is
// in the comment.
const (
	ReasonJWTInvalidExpiration   = "INVALID_EXPIRATION"     // 400: exp − iat ≠ ExpiringSec
	ReasonJWTInvalidEpochs       = "INVALID_EPOCHS"         // 400: epochs or max_epochs refuse the query's
	ReasonJWTInvalidSize         = "INVALID_SIZE"           // 400: size or max_size refuse the body
	ReasonJWTInvalidSendObjectTo = "INVALID_SEND_OBJECT_TO" // 400: send_object_to missing or other
	ReasonJWTInconsistentToken   = "INCONSISTENT_TOKEN"     // 400: size with max_size, epochs with max_epochs
	ReasonJWTExpiredSignature    = "EXPIRED_SIGNATURE"      // 504: exp is past (beyond JWTLeeway)
	ReasonJWTInvalidSignature    = "INVALID_SIGNATURE"      // 401: bad signature, or nbf/iat in the future
	ReasonJWTInvalidToken        = "INVALID_TOKEN"          // 400: no or malformed token, other algorithm, missing claim
	ReasonJWTTokenAlreadyUsed    = "TOKEN_ALREADY_USED"     // 429: the jti was used before
	ReasonJWTInvalidTimestamp    = "INVALID_TIMESTAMP"      // 400: a time beyond MaxJWTTimestamp
	ReasonJWTInternal            = "INTERNAL_ERROR"         // 500: the replay cache is full
)

// JWTAlgorithms are the algorithms --jwt-algorithm accepts, Walrus's.
var JWTAlgorithms = []string{"HS256", "HS384", "HS512", "ES256", "ES384",
	"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "EdDSA"}

// ErrJWTConfig is returned by JWTConfig.Validate and NewJWTAuth.
var ErrJWTConfig = errors.New("daemon: invalid JWT config")

// JWTConfig configures publisher authentication, as Walrus's flags.
type JWTConfig struct {
	// DecodeSecret (--jwt-decode-secret) is the key that verifies
	// signatures: "0x" and hex digits, or the string's bytes. For HS*
	// it is the shared secret; for EdDSA the 32-byte public key; for
	// ES256/ES384 the SEC 1 uncompressed point (0x04 ‖ x ‖ y); for RS*
	// and PS* the PKCS #1 DER public key (those are the forms Walrus's
	// library takes); a PKIX (SubjectPublicKeyInfo) DER key is also
	// accepted for all three. Empty: signatures are not checked (as
	// Walrus, for a gateway that checked them), the claims still are.
	DecodeSecret string
	// Algorithm (--jwt-algorithm) is the one algorithm accepted, one of
	// JWTAlgorithms; empty means HS256.
	Algorithm string
	// ExpiringSec (--jwt-expiring-sec), if > 0, requires iat and
	// exp − iat = ExpiringSec.
	ExpiringSec int64
	// VerifyUpload (--jwt-verify-upload) checks the request against the
	// claims epochs, max_epochs, send_object_to, size and max_size (the
	// body's Content-Length). Whatever it says, a body over max_size, or
	// other than size, is refused once read (checkJWTUploadSize), as
	// Walrus's handlers do.
	VerifyUpload bool
	// CacheSize (--jwt-cache-size) bounds the replay cache; 0 means
	// DefaultJWTCacheSize.
	CacheSize int
	// DefaultEpochs is the epochs of a request that names none (compared
	// with the epochs claims); 0 means DefaultEpochs.
	DefaultEpochs uint32
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Enabled reports whether c asks for authentication, as Walrus decides:
// a secret, an expiring time or upload verification.
func (c *JWTConfig) Enabled() bool {
	return c.DecodeSecret != "" || c.ExpiringSec > 0 || c.VerifyUpload
}

// EnsureDefaults fills in the zero fields of c.
func (c *JWTConfig) EnsureDefaults() {
	if c.Algorithm == "" {
		c.Algorithm = "HS256"
	}
	if c.CacheSize == 0 {
		c.CacheSize = DefaultJWTCacheSize
	}
	if c.DefaultEpochs == 0 {
		c.DefaultEpochs = DefaultEpochs
	}
	if c.Now == nil {
		c.Now = time.Now
	}
}

// Validate reports every problem of c, naming its flag. It expects
// EnsureDefaults to have run.
func (c *JWTConfig) Validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrJWTConfig}, args...)...))
	}
	if !slices.Contains(JWTAlgorithms, c.Algorithm) {
		bad("--jwt-algorithm %q is not one of %s", c.Algorithm, strings.Join(JWTAlgorithms, ", "))
	} else if c.DecodeSecret != "" {
		if _, err := parseJWTKey(c.Algorithm, c.DecodeSecret); err != nil {
			bad("--jwt-decode-secret: %v", err)
		}
	}
	if c.ExpiringSec < 0 {
		bad("--jwt-expiring-sec (%d) must be >= 0", c.ExpiringSec)
	}
	if c.CacheSize < 1 || c.CacheSize > MaxJWTCacheSize {
		bad("--jwt-cache-size (%d) must be from 1 to %d", c.CacheSize, MaxJWTCacheSize)
	}
	return errors.Join(errs...)
}

// parseJWTKey returns the verification key of secret for alg.
func parseJWTKey(alg, secret string) (any, error) {
	raw := []byte(secret)
	if h, ok := strings.CutPrefix(secret, "0x"); ok {
		var err error
		if raw, err = hex.DecodeString(h); err != nil {
			return nil, fmt.Errorf("not hex after 0x: %v", err)
		}
	}
	if len(raw) == 0 {
		return nil, errors.New("empty")
	}
	switch alg[:2] {
	case "HS":
		return raw, nil
	case "Ed":
		if len(raw) == ed25519.PublicKeySize {
			return ed25519.PublicKey(raw), nil
		}
		if k, err := x509.ParsePKIXPublicKey(raw); err == nil {
			if ek, ok := k.(ed25519.PublicKey); ok {
				return ek, nil
			}
		}
		return nil, fmt.Errorf("%s wants a %d-byte Ed25519 public key (or PKIX DER), got %d bytes", alg, ed25519.PublicKeySize, len(raw))
	case "ES":
		curve := elliptic.P256()
		if alg == "ES384" {
			curve = elliptic.P384()
		}
		if k, err := ecdsa.ParseUncompressedPublicKey(curve, raw); err == nil {
			return k, nil
		}
		if k, err := x509.ParsePKIXPublicKey(raw); err == nil {
			if ek, ok := k.(*ecdsa.PublicKey); ok && ek.Curve == curve {
				return ek, nil
			}
		}
		return nil, fmt.Errorf("%s wants a %s public key, SEC 1 uncompressed point or PKIX DER", alg, curve.Params().Name)
	default: // RS, PS
		if k, err := x509.ParsePKCS1PublicKey(raw); err == nil {
			return k, nil
		}
		if k, err := x509.ParsePKIXPublicKey(raw); err == nil {
			if rk, ok := k.(*rsa.PublicKey); ok {
				return rk, nil
			}
		}
		return nil, fmt.Errorf("%s wants an RSA public key, PKCS #1 or PKIX DER", alg)
	}
}

// JWTClaims are the claims of a publisher token, Walrus's (RFC 7519 and
// its storage limits). A nil field is an absent claim.
type JWTClaims struct {
	// ExpiresAt (exp) is required.
	ExpiresAt *int64 `json:"exp,omitempty"`
	// IssuedAt (iat) is required when ExpiringSec > 0; it may not be in
	// the future.
	IssuedAt *int64 `json:"iat,omitempty"`
	// NotBefore (nbf) is optional; it may not be in the future.
	NotBefore *int64 `json:"nbf,omitempty"`
	// JTI (jti) is required: a token is accepted once.
	JTI *string `json:"jti,omitempty"`
	// SendObjectTo must equal the request's send_object_to.
	SendObjectTo *chain.Address `json:"send_object_to,omitempty"`
	// Epochs must equal the request's epochs; MaxEpochs bounds them. At
	// most one of the two.
	Epochs    *uint32 `json:"epochs,omitempty"`
	MaxEpochs *uint32 `json:"max_epochs,omitempty"`
	// Size must equal the body's size; MaxSize bounds it. At most one of
	// the two.
	Size    *uint64 `json:"size,omitempty"`
	MaxSize *uint64 `json:"max_size,omitempty"`
}

func numericDate(p *int64) (*jwt.NumericDate, error) {
	if p == nil {
		return nil, nil
	}
	return jwt.NewNumericDate(time.Unix(*p, 0)), nil
}

// GetExpirationTime and the other methods make JWTClaims a jwt.Claims.
func (c *JWTClaims) GetExpirationTime() (*jwt.NumericDate, error) { return numericDate(c.ExpiresAt) }
func (c *JWTClaims) GetIssuedAt() (*jwt.NumericDate, error)       { return numericDate(c.IssuedAt) }
func (c *JWTClaims) GetNotBefore() (*jwt.NumericDate, error)      { return numericDate(c.NotBefore) }
func (c *JWTClaims) GetIssuer() (string, error)                   { return "", nil }
func (c *JWTClaims) GetSubject() (string, error)                  { return "", nil }
func (c *JWTClaims) GetAudience() (jwt.ClaimStrings, error)       { return nil, nil }

// authError is an authentication refusal: an apiError in JWTErrorDomain.
type authError = apiError

func authErr(code int, status, reason, msg string) *authError {
	return &apiError{code: code, status: status, reason: reason, domain: JWTErrorDomain, message: msg}
}

func failedPrecondition(reason, msg string) *authError {
	return authErr(http.StatusBadRequest, "FAILED_PRECONDITION", reason, msg)
}

// writeAuthError sends e as an ErrorBody.
func writeAuthError(w http.ResponseWriter, e *authError) { writeError(w, e) }

// JWTAuth checks publisher tokens. It is safe for concurrent use.
type JWTAuth struct {
	cfg   JWTConfig
	key   any // nil: signatures are not checked
	cache *replayCache
}

// NewJWTAuth returns the authentication cfg describes. cfg is copied, its
// defaults filled in, then validated.
func NewJWTAuth(cfg JWTConfig) (*JWTAuth, error) {
	cfg.EnsureDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	a := &JWTAuth{cfg: cfg, cache: newReplayCache(cfg.CacheSize)}
	if cfg.DecodeSecret != "" {
		a.key, _ = parseJWTKey(cfg.Algorithm, cfg.DecodeSecret)
	}
	return a, nil
}

type jwtClaimsKey struct{}

type jwtRefundKey struct{}

// refundJWT gives back the token of the request of ctx (its jti may be
// used again): for a request refused for want of capacity (429) before
// anything was done, so that a client may retry with the same token. It
// does nothing for a request the middleware did not see.
func refundJWT(ctx context.Context) {
	if f, ok := ctx.Value(jwtRefundKey{}).(func()); ok {
		f()
	}
}

// JWTClaimsFrom returns the claims the middleware accepted for the request
// of ctx.
func JWTClaimsFrom(ctx context.Context) (*JWTClaims, bool) {
	c, ok := ctx.Value(jwtClaimsKey{}).(*JWTClaims)
	return c, ok
}

// Middleware refuses a request unless it carries an acceptable token:
// "Authorization: Bearer <JWT>" whose signature (if a secret is set) and
// claims hold, whose jti was not seen before, and (with VerifyUpload)
// whose limits allow the request's epochs, send_object_to and
// Content-Length. Refusals answer an ErrorBody in JWTErrorDomain; nothing
// of the body is read. An accepted token's jti is spent; a token refused
// after its jti was recorded is forgotten again, as Walrus does. next sees
// the claims through JWTClaimsFrom.
func (a *JWTAuth) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q, qerr := parseJWTQuery(r.URL.RawQuery, a.cfg.DefaultEpochs)
		if qerr != nil {
			writeError(w, qerr)
			return
		}
		token, aerr := bearerToken(r.Header)
		if aerr != nil {
			writeAuthError(w, aerr)
			return
		}
		now := a.cfg.Now()
		c, aerr := a.decode(token, now)
		if aerr != nil {
			writeAuthError(w, aerr)
			return
		}
		// Record the jti first, so that two requests racing with one
		// token cannot both pass; forget it if the checks refuse.
		key := sha256.Sum256([]byte(*c.JTI))
		if err := a.cache.insert(key, time.Unix(*c.ExpiresAt, 0).Add(JWTLeeway), now); err != nil {
			if errors.Is(err, errJTIReplayed) {
				writeAuthError(w, authErr(http.StatusTooManyRequests, "RESOURCE_EXHAUSTED", ReasonJWTTokenAlreadyUsed, "the JWT token was already used"))
			} else {
				writeAuthError(w, authErr(http.StatusInternalServerError, "INTERNAL", ReasonJWTInternal, "the publisher cannot accept more tokens now: "+err.Error()))
			}
			return
		}
		if aerr := a.checkUpload(c, q, r.ContentLength); aerr != nil {
			a.cache.remove(key)
			writeAuthError(w, aerr)
			return
		}
		ctx := context.WithValue(r.Context(), jwtClaimsKey{}, c)
		var once sync.Once
		ctx = context.WithValue(ctx, jwtRefundKey{}, func() { once.Do(func() { a.cache.remove(key) }) })
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// jwtQuery is what the checks need of a store's query.
type jwtQuery struct {
	epochs uint32
	owner  *chain.Address
}

// parseJWTQuery reads epochs and send_object_to from a store's query;
// other parameters are the handler's business. Bad values are refused as
// the handler would refuse them.
func parseJWTQuery(raw string, defaultEpochs uint32) (jwtQuery, *apiError) {
	q := jwtQuery{epochs: defaultEpochs}
	if len(raw) > maxQueryLen {
		return q, newError(http.StatusBadRequest, ReasonInvalidQuery, fmt.Sprintf("invalid query: query of %d bytes, at most %d", len(raw), maxQueryLen))
	}
	vals, err := url.ParseQuery(raw)
	if err != nil {
		return q, newError(http.StatusBadRequest, ReasonInvalidQuery, "invalid query: "+err.Error())
	}
	for _, k := range []string{"epochs", "send_object_to"} {
		vs, ok := vals[k]
		if !ok {
			continue
		}
		if len(vs) != 1 {
			return q, newError(http.StatusBadRequest, ReasonInvalidQuery, fmt.Sprintf("invalid query: parameter %q given %d times", k, len(vs)))
		}
		if k == "epochs" {
			n, err := strconv.ParseUint(vs[0], 10, 32)
			if err != nil || n == 0 {
				return q, newError(http.StatusBadRequest, ReasonInvalidEpochs, fmt.Sprintf("invalid query: epochs must be a whole number from 1 to %d, got %q", uint32(1<<32-1), truncate(vs[0], 32)))
			}
			q.epochs = uint32(n)
			continue
		}
		addr, err := chain.ParseAddress(vs[0])
		if err != nil {
			return q, newError(http.StatusBadRequest, ReasonInvalidQuery, fmt.Sprintf("invalid query: send_object_to must be an address (0x and 64 hex digits), got %q", truncate(vs[0], 80)))
		}
		q.owner = &addr
	}
	return q, nil
}

// bearerToken returns the token of the request's one Authorization header,
// "Bearer <token>" (scheme in any case).
func bearerToken(h http.Header) (string, *authError) {
	vs := h.Values("Authorization")
	switch {
	case len(vs) == 0:
		return "", failedPrecondition(ReasonJWTInvalidToken, "the request has no Authorization header; send Authorization: Bearer <JWT>")
	case len(vs) > 1:
		return "", failedPrecondition(ReasonJWTInvalidToken, "the request has more than one Authorization header")
	}
	scheme, token, ok := strings.Cut(vs[0], " ")
	token = strings.TrimSpace(token)
	switch {
	case !ok || !strings.EqualFold(scheme, "Bearer") || token == "":
		return "", failedPrecondition(ReasonJWTInvalidToken, "the Authorization header is not Bearer <JWT>")
	case len(token) > MaxJWTLen:
		return "", failedPrecondition(ReasonJWTInvalidToken, fmt.Sprintf("the token has %d bytes, at most %d", len(token), MaxJWTLen))
	}
	return token, nil
}

// errJWTAlgorithm is returned by the key function for a token signed with
// another algorithm than the configured one.
var errJWTAlgorithm = errors.New("unexpected algorithm")

// decode parses token, verifies its signature (when a key is set) and its
// time claims at now. The refusals are Walrus's: an unknown or other
// algorithm or a malformed token is INVALID_TOKEN, a bad signature
// INVALID_SIGNATURE, an expired token EXPIRED_SIGNATURE.
func (a *JWTAuth) decode(token string, now time.Time) (*JWTClaims, *authError) {
	c := &JWTClaims{}
	p := jwt.NewParser(jwt.WithoutClaimsValidation())
	var err error
	if a.key == nil {
		var t *jwt.Token
		if t, _, err = p.ParseUnverified(token, c); err == nil && !slices.Contains(JWTAlgorithms, t.Method.Alg()) {
			err = fmt.Errorf("%w %q", errJWTAlgorithm, t.Method.Alg())
		}
	} else {
		_, err = p.ParseWithClaims(token, c, func(t *jwt.Token) (any, error) {
			if alg := t.Method.Alg(); alg != a.cfg.Algorithm {
				return nil, fmt.Errorf("%w %q, the publisher accepts %s", errJWTAlgorithm, alg, a.cfg.Algorithm)
			}
			return a.key, nil
		})
	}
	switch {
	case errors.Is(err, errJWTAlgorithm):
		return nil, failedPrecondition(ReasonJWTInvalidToken, "the JWT token is invalid: "+err.Error())
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return nil, authErr(http.StatusUnauthorized, "UNAUTHENTICATED", ReasonJWTInvalidSignature, "the signature on the token is invalid")
	case err != nil:
		return nil, failedPrecondition(ReasonJWTInvalidToken, "the JWT token is invalid: "+err.Error())
	case c.ExpiresAt == nil:
		return nil, failedPrecondition(ReasonJWTInvalidToken, "the JWT token is invalid: it has no exp claim")
	case c.JTI == nil:
		return nil, failedPrecondition(ReasonJWTInvalidToken, "the JWT token is invalid: it has no jti claim")
	case a.cfg.ExpiringSec > 0 && c.IssuedAt == nil:
		return nil, failedPrecondition(ReasonJWTInvalidToken, "the JWT token is invalid: it has no iat claim, which the publisher requires")
	}
	for _, t := range []*int64{c.ExpiresAt, c.IssuedAt, c.NotBefore} {
		if t != nil && (*t > MaxJWTTimestamp || *t < -MaxJWTTimestamp) {
			return nil, failedPrecondition(ReasonJWTInvalidTimestamp, "one of the timestamps in the JWT token is invalid")
		}
	}
	leeway, sec := int64(JWTLeeway/time.Second), now.Unix()
	if *c.ExpiresAt < sec-leeway {
		return nil, authErr(http.StatusGatewayTimeout, "DEADLINE_EXCEEDED", ReasonJWTExpiredSignature,
			fmt.Sprintf("the signature on the token has expired (exp %d, now %d)", *c.ExpiresAt, sec))
	}
	for _, t := range []struct {
		name string
		at   *int64
	}{{"nbf", c.NotBefore}, {"iat", c.IssuedAt}} {
		if t.at != nil && *t.at > sec+leeway {
			return nil, authErr(http.StatusUnauthorized, "UNAUTHENTICATED", ReasonJWTInvalidSignature,
				fmt.Sprintf("the token is not valid yet (%s %d, now %d)", t.name, *t.at, sec))
		}
	}
	return c, nil
}

// checkUpload is Walrus's check_valid_upload: the expiring time always,
// then, with VerifyUpload, the Content-Length, epochs and send_object_to
// against the claims.
func (a *JWTAuth) checkUpload(c *JWTClaims, q jwtQuery, contentLength int64) *authError {
	if a.cfg.ExpiringSec > 0 {
		iat := int64(0)
		if c.IssuedAt != nil {
			iat = *c.IssuedAt
		}
		if *c.ExpiresAt-iat != a.cfg.ExpiringSec {
			return failedPrecondition(ReasonJWTInvalidExpiration,
				fmt.Sprintf("the expiration in the query does not match the token: exp − iat is %d s, the publisher wants %d s", *c.ExpiresAt-iat, a.cfg.ExpiringSec))
		}
	}
	if c.Size != nil && c.MaxSize != nil {
		return failedPrecondition(ReasonJWTInconsistentToken, "the token is inconsistent: it has both size and max_size")
	}
	if !a.cfg.VerifyUpload {
		return nil
	}
	if contentLength >= 0 { // unknown (chunked): checked once read
		if aerr := checkJWTSize(c, uint64(contentLength)); aerr != nil {
			return aerr
		}
	}
	switch {
	case c.Epochs != nil && c.MaxEpochs != nil:
		return failedPrecondition(ReasonJWTInconsistentToken, "the token is inconsistent: it has both epochs and max_epochs")
	case c.Epochs != nil && q.epochs != *c.Epochs:
		return failedPrecondition(ReasonJWTInvalidEpochs, fmt.Sprintf("the epochs field in the query does not match the token: %d, the token says %d", q.epochs, *c.Epochs))
	case c.MaxEpochs != nil && q.epochs > *c.MaxEpochs:
		return failedPrecondition(ReasonJWTInvalidEpochs, fmt.Sprintf("the epochs field in the query does not match the token: %d, the token allows at most %d", q.epochs, *c.MaxEpochs))
	}
	if c.SendObjectTo != nil && (q.owner == nil || *q.owner != *c.SendObjectTo) {
		return failedPrecondition(ReasonJWTInvalidSendObjectTo, "the send_object_to field in the query does not match the token, or is missing")
	}
	return nil
}

// checkJWTSize checks a size against the claims size and max_size.
func checkJWTSize(c *JWTClaims, n uint64) *authError {
	switch {
	case c.MaxSize != nil && n > *c.MaxSize:
		return failedPrecondition(ReasonJWTInvalidSize, fmt.Sprintf("the size of the request does not match the size specified in the token: %d bytes, at most %d", n, *c.MaxSize))
	case c.Size != nil && n != *c.Size:
		return failedPrecondition(ReasonJWTInvalidSize, fmt.Sprintf("the size of the request does not match the size specified in the token: %d bytes, the token says %d", n, *c.Size))
	}
	return nil
}

// checkJWTUploadSize is Walrus's check_blob_size, for a handler once it has
// the upload's size (the body of PUT /v1/blobs, the quilt built by PUT
// /v1/quilts): it refuses a size over the token's max_size or other than
// its size, whether or not VerifyUpload is set. It returns nil for a
// request the middleware did not see.
func checkJWTUploadSize(ctx context.Context, n int64) *authError {
	c, ok := JWTClaimsFrom(ctx)
	if !ok || n < 0 {
		return nil
	}
	return checkJWTSize(c, uint64(n))
}

// Errors of the replay cache.
var (
	errJTIReplayed     = errors.New("the token ID was used before")
	errReplayCacheFull = errors.New("the replay cache is full of unexpired tokens")
)

// replayCache remembers the token IDs (their SHA-256) accepted, each until
// its token expires, up to max of them. It is safe for concurrent use.
type replayCache struct {
	mu    sync.Mutex
	max   int
	until map[[32]byte]time.Time
}

func newReplayCache(max int) *replayCache {
	return &replayCache{max: max, until: make(map[[32]byte]time.Time)}
}

// insert records key until the given time. It fails with errJTIReplayed if
// key is held and unexpired at now, and with errReplayCacheFull if max
// unexpired keys are held; when full it first drops the expired ones.
func (c *replayCache) insert(key [32]byte, until, now time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t, ok := c.until[key]; ok {
		if now.Before(t) {
			return errJTIReplayed
		}
		delete(c.until, key)
	}
	if len(c.until) >= c.max {
		for k, t := range c.until {
			if !now.Before(t) {
				delete(c.until, k)
			}
		}
		if len(c.until) >= c.max {
			return fmt.Errorf("%w (%d)", errReplayCacheFull, c.max)
		}
	}
	c.until[key] = until
	return nil
}

// remove forgets key.
func (c *replayCache) remove(key [32]byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.until, key)
}

func (c *replayCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.until)
}
