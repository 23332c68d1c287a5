package daemon

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/walrus-go/walrus/chain"
)

// jwtNow is the tests' clock.
var jwtNow = time.Unix(1_700_000_000, 0)

const testSecret = "a shared secret of the publisher"

func ptr[T any](v T) *T { return &v }

var (
	ownerA = chain.Address{0x2a, 0x2a}
	ownerB = chain.Address{0x11}
)

// claims returns valid claims: jti, exp in an hour.
func claims(jti string) *JWTClaims {
	return &JWTClaims{JTI: ptr(jti), ExpiresAt: ptr(jwtNow.Add(time.Hour).Unix())}
}

func sign(t *testing.T, method jwt.SigningMethod, key any, c jwt.Claims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(method, c).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func hs256(t *testing.T, c jwt.Claims) string {
	return sign(t, jwt.SigningMethodHS256, []byte(testSecret), c)
}

// jwtServer runs the middleware before a handler that reads the body and
// checks its size as a store handler does, and records the claims it saw.
type jwtServer struct {
	auth *JWTAuth
	h    http.Handler
	seen atomic.Pointer[JWTClaims]
}

func newJWTServer(t *testing.T, cfg JWTConfig) *jwtServer {
	t.Helper()
	if cfg.Now == nil {
		cfg.Now = func() time.Time { return jwtNow }
	}
	a, err := NewJWTAuth(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s := &jwtServer{auth: a}
	s.h = a.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, ok := JWTClaimsFrom(r.Context())
		if !ok {
			t.Error("the handler sees no claims")
		}
		s.seen.Store(c)
		body, err := io.ReadAll(r.Body)
		if err != nil {
			t.Error(err)
		}
		if aerr := checkJWTUploadSize(r.Context(), int64(len(body))); aerr != nil {
			writeAuthError(w, aerr)
			return
		}
		io.WriteString(w, "stored")
	}))
	return s
}

type jwtReq struct {
	query   string
	auth    string // the Authorization header; "" sends none
	body    string
	chunked bool // no Content-Length
}

func bearer(token string) string { return "Bearer " + token }

func (s *jwtServer) do(r jwtReq) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPut, "/v1/blobs?"+r.query, strings.NewReader(r.body))
	if r.chunked {
		req.ContentLength = -1
	}
	if r.auth != "" {
		req.Header.Set("Authorization", r.auth)
	}
	w := httptest.NewRecorder()
	s.h.ServeHTTP(w, req)
	return w
}

// wantRefusal checks an ErrorBody answer: status, Google status, reason and
// domain.
func wantRefusal(t *testing.T, w *httptest.ResponseRecorder, code int, status, reason, domain string) {
	t.Helper()
	if w.Code != code {
		t.Fatalf("status %d, want %d; body %s", w.Code, code, w.Body)
	}
	if ct := w.Header().Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type %q", ct)
	}
	var b ErrorBody
	if err := json.Unmarshal(w.Body.Bytes(), &b); err != nil {
		t.Fatalf("body %s: %v", w.Body, err)
	}
	e := b.Error
	if e.Code != code || e.Status != status || e.Message == "" || len(e.Details) != 1 ||
		e.Details[0].Type != "ErrorInfo" || e.Details[0].Reason != reason || e.Details[0].Domain != domain ||
		!strings.Contains(w.Body.String(), `"metadata":{}`) {
		t.Fatalf("error %+v, want code %d, status %s, reason %s, domain %s", e, code, status, reason, domain)
	}
}

func wantOK(t *testing.T, w *httptest.ResponseRecorder) {
	t.Helper()
	if w.Code != http.StatusOK || w.Body.String() != "stored" {
		t.Fatalf("status %d, body %s; want 200", w.Code, w.Body)
	}
}

func TestJWTRefusals(t *testing.T) {
	verify := JWTConfig{DecodeSecret: testSecret, VerifyUpload: true}
	expiring := JWTConfig{DecodeSecret: testSecret, ExpiringSec: 600}
	plain := JWTConfig{DecodeSecret: testSecret}
	with := func(jti string, f func(c *JWTClaims)) *JWTClaims {
		c := claims(jti)
		f(c)
		return c
	}
	owner := "send_object_to=" + ownerA.String()
	const (
		fp     = "FAILED_PRECONDITION"
		unauth = "UNAUTHENTICATED"
	)
	for _, tc := range []struct {
		name   string
		cfg    JWTConfig
		req    func(t *testing.T) jwtReq
		code   int
		status string
		reason string
	}{
		{"missing token", plain, func(t *testing.T) jwtReq { return jwtReq{} },
			400, fp, ReasonJWTInvalidToken},
		{"not bearer", plain, func(t *testing.T) jwtReq { return jwtReq{auth: hs256(t, claims("j"))} },
			400, fp, ReasonJWTInvalidToken},
		{"basic", plain, func(t *testing.T) jwtReq { return jwtReq{auth: "Basic dXNlcjpwdw=="} },
			400, fp, ReasonJWTInvalidToken},
		{"too long", plain, func(t *testing.T) jwtReq { return jwtReq{auth: bearer(strings.Repeat("a", MaxJWTLen+1))} },
			400, fp, ReasonJWTInvalidToken},
		{"malformed", plain, func(t *testing.T) jwtReq { return jwtReq{auth: bearer("not.a.jwt")} },
			400, fp, ReasonJWTInvalidToken},
		{"bad signature", plain, func(t *testing.T) jwtReq {
			return jwtReq{auth: bearer(sign(t, jwt.SigningMethodHS256, []byte("another secret"), claims("j")))}
		}, 401, unauth, ReasonJWTInvalidSignature},
		{"tampered claims", plain, func(t *testing.T) jwtReq {
			parts := strings.Split(hs256(t, claims("j")), ".")
			other := strings.Split(hs256(t, with("j", func(c *JWTClaims) { c.MaxSize = ptr[uint64](1 << 40) })), ".")
			return jwtReq{auth: bearer(parts[0] + "." + other[1] + "." + parts[2])}
		}, 401, unauth, ReasonJWTInvalidSignature},
		{"wrong algorithm", plain, func(t *testing.T) jwtReq {
			return jwtReq{auth: bearer(sign(t, jwt.SigningMethodHS384, []byte(testSecret), claims("j")))}
		}, 400, fp, ReasonJWTInvalidToken},
		{"alg none", plain, func(t *testing.T) jwtReq {
			return jwtReq{auth: bearer(sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, claims("j")))}
		}, 400, fp, ReasonJWTInvalidToken},
		{"expired", plain, func(t *testing.T) jwtReq {
			return jwtReq{auth: bearer(hs256(t, with("j", func(c *JWTClaims) { c.ExpiresAt = ptr(jwtNow.Add(-JWTLeeway - time.Second).Unix()) })))}
		}, 504, "DEADLINE_EXCEEDED", ReasonJWTExpiredSignature},
		{"not yet valid (nbf)", plain, func(t *testing.T) jwtReq {
			return jwtReq{auth: bearer(hs256(t, with("j", func(c *JWTClaims) { c.NotBefore = ptr(jwtNow.Add(JWTLeeway + time.Second).Unix()) })))}
		}, 401, unauth, ReasonJWTInvalidSignature},
		{"issued in the future", plain, func(t *testing.T) jwtReq {
			return jwtReq{auth: bearer(hs256(t, with("j", func(c *JWTClaims) { c.IssuedAt = ptr(jwtNow.Add(JWTLeeway + time.Second).Unix()) })))}
		}, 401, unauth, ReasonJWTInvalidSignature},
		{"no exp", plain, func(t *testing.T) jwtReq {
			return jwtReq{auth: bearer(hs256(t, with("j", func(c *JWTClaims) { c.ExpiresAt = nil })))}
		}, 400, fp, ReasonJWTInvalidToken},
		{"no jti", plain, func(t *testing.T) jwtReq {
			return jwtReq{auth: bearer(hs256(t, with("j", func(c *JWTClaims) { c.JTI = nil })))}
		}, 400, fp, ReasonJWTInvalidToken},
		{"exp not an integer", plain, func(t *testing.T) jwtReq {
			return jwtReq{auth: bearer(hs256(t, jwt.MapClaims{"jti": "j", "exp": float64(jwtNow.Unix()) + 0.5}))}
		}, 400, fp, ReasonJWTInvalidToken},
		{"epochs not a u32", plain, func(t *testing.T) jwtReq {
			return jwtReq{auth: bearer(hs256(t, jwt.MapClaims{"jti": "j", "exp": jwtNow.Unix() + 60, "epochs": 1 << 32}))}
		}, 400, fp, ReasonJWTInvalidToken},
		{"exp beyond year 9999", plain, func(t *testing.T) jwtReq {
			return jwtReq{auth: bearer(hs256(t, with("j", func(c *JWTClaims) { c.ExpiresAt = ptr[int64](MaxJWTTimestamp + 1) })))}
		}, 400, fp, ReasonJWTInvalidTimestamp},
		{"expiring: no iat", expiring, func(t *testing.T) jwtReq { return jwtReq{auth: bearer(hs256(t, claims("j")))} },
			400, fp, ReasonJWTInvalidToken},
		{"expiring: exp − iat too long", expiring, func(t *testing.T) jwtReq {
			return jwtReq{auth: bearer(hs256(t, with("j", func(c *JWTClaims) {
				c.IssuedAt, c.ExpiresAt = ptr(jwtNow.Unix()), ptr(jwtNow.Unix()+601)
			})))}
		}, 400, fp, ReasonJWTInvalidExpiration},
		{"size and max_size", plain, func(t *testing.T) jwtReq {
			return jwtReq{auth: bearer(hs256(t, with("j", func(c *JWTClaims) { c.Size, c.MaxSize = ptr[uint64](1), ptr[uint64](2) })))}
		}, 400, fp, ReasonJWTInconsistentToken},
		{"epochs and max_epochs", verify, func(t *testing.T) jwtReq {
			return jwtReq{auth: bearer(hs256(t, with("j", func(c *JWTClaims) { c.Epochs, c.MaxEpochs = ptr[uint32](1), ptr[uint32](2) })))}
		}, 400, fp, ReasonJWTInconsistentToken},
		{"size over max_size (Content-Length)", verify, func(t *testing.T) jwtReq {
			return jwtReq{auth: bearer(hs256(t, with("j", func(c *JWTClaims) { c.MaxSize = ptr[uint64](10) }))), body: strings.Repeat("x", 11)}
		}, 400, fp, ReasonJWTInvalidSize},
		{"size over max_size (chunked)", plain, func(t *testing.T) jwtReq {
			return jwtReq{auth: bearer(hs256(t, with("j", func(c *JWTClaims) { c.MaxSize = ptr[uint64](10) }))), body: strings.Repeat("x", 11), chunked: true}
		}, 400, fp, ReasonJWTInvalidSize},
		{"size below size", verify, func(t *testing.T) jwtReq {
			return jwtReq{auth: bearer(hs256(t, with("j", func(c *JWTClaims) { c.Size = ptr[uint64](1000) }))), body: strings.Repeat("x", 999)}
		}, 400, fp, ReasonJWTInvalidSize},
		{"size above size", verify, func(t *testing.T) jwtReq {
			return jwtReq{auth: bearer(hs256(t, with("j", func(c *JWTClaims) { c.Size = ptr[uint64](1000) }))), body: strings.Repeat("x", 1001)}
		}, 400, fp, ReasonJWTInvalidSize},
		{"empty body, size claimed", verify, func(t *testing.T) jwtReq {
			return jwtReq{auth: bearer(hs256(t, with("j", func(c *JWTClaims) { c.Size = ptr[uint64](1000) })))}
		}, 400, fp, ReasonJWTInvalidSize},
		{"epochs other than claimed", verify, func(t *testing.T) jwtReq {
			return jwtReq{query: "epochs=100", auth: bearer(hs256(t, with("j", func(c *JWTClaims) { c.Epochs = ptr[uint32](1) })))}
		}, 400, fp, ReasonJWTInvalidEpochs},
		{"default epochs other than claimed", verify, func(t *testing.T) jwtReq {
			return jwtReq{auth: bearer(hs256(t, with("j", func(c *JWTClaims) { c.Epochs = ptr[uint32](2) })))}
		}, 400, fp, ReasonJWTInvalidEpochs},
		{"epochs over max_epochs", verify, func(t *testing.T) jwtReq {
			return jwtReq{query: "epochs=6", auth: bearer(hs256(t, with("j", func(c *JWTClaims) { c.MaxEpochs = ptr[uint32](5) })))}
		}, 400, fp, ReasonJWTInvalidEpochs},
		{"send_object_to other", verify, func(t *testing.T) jwtReq {
			return jwtReq{query: "send_object_to=" + ownerB.String(), auth: bearer(hs256(t, with("j", func(c *JWTClaims) { c.SendObjectTo = &ownerA })))}
		}, 400, fp, ReasonJWTInvalidSendObjectTo},
		{"send_object_to missing", verify, func(t *testing.T) jwtReq {
			return jwtReq{auth: bearer(hs256(t, with("j", func(c *JWTClaims) { c.SendObjectTo = &ownerA })))}
		}, 400, fp, ReasonJWTInvalidSendObjectTo},
		{"bad epochs query", verify, func(t *testing.T) jwtReq {
			return jwtReq{query: "epochs=0", auth: bearer(hs256(t, claims("j")))}
		}, 400, "INVALID_ARGUMENT", ReasonInvalidEpochs},
		{"bad send_object_to query", verify, func(t *testing.T) jwtReq {
			return jwtReq{query: "send_object_to=0x12", auth: bearer(hs256(t, claims("j")))}
		}, 400, "INVALID_ARGUMENT", ReasonInvalidQuery},
		{"within every limit", verify, func(t *testing.T) jwtReq {
			return jwtReq{query: "epochs=5&" + owner, body: strings.Repeat("x", 10), auth: bearer(hs256(t, with("j", func(c *JWTClaims) {
				c.MaxEpochs, c.SendObjectTo, c.MaxSize = ptr[uint32](5), &ownerA, ptr[uint64](10)
			})))}
		}, 200, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newJWTServer(t, tc.cfg)
			w := s.do(tc.req(t))
			domain := JWTErrorDomain
			if tc.status == "INVALID_ARGUMENT" {
				domain = ErrorDomain
			}
			if tc.code == 200 {
				wantOK(t, w)
				return
			}
			wantRefusal(t, w, tc.code, tc.status, tc.reason, domain)
			if s.seen.Load() != nil && tc.reason != ReasonJWTInvalidSize {
				t.Fatal("the handler ran")
			}
		})
	}
}

func TestJWTValid(t *testing.T) {
	s := newJWTServer(t, JWTConfig{DecodeSecret: testSecret})
	c := claims("first")
	c.Epochs, c.SendObjectTo = ptr[uint32](3), &ownerA
	wantOK(t, s.do(jwtReq{auth: bearer(hs256(t, c)), body: "hello"}))
	got := s.seen.Load()
	if got == nil || *got.JTI != "first" || *got.Epochs != 3 || *got.SendObjectTo != ownerA || *got.ExpiresAt != *c.ExpiresAt {
		t.Fatalf("the handler saw %+v", got)
	}
	// Without VerifyUpload the query is not held against the claims.
	wantOK(t, s.do(jwtReq{query: "epochs=9", auth: bearer(hs256(t, c.withJTI("second")))}))
	// The scheme in any case, spaces around the token, exp within the
	// leeway, iat and nbf in the leeway's future.
	c = claims("third")
	c.ExpiresAt = ptr(jwtNow.Add(-JWTLeeway).Unix())
	c.IssuedAt, c.NotBefore = ptr(jwtNow.Add(JWTLeeway).Unix()), ptr(jwtNow.Add(JWTLeeway).Unix())
	wantOK(t, s.do(jwtReq{auth: "bearer  " + hs256(t, c) + " "}))
	// A hex secret is the bytes it spells.
	hexed := newJWTServer(t, JWTConfig{DecodeSecret: "0x" + hex.EncodeToString([]byte(testSecret))})
	wantOK(t, hexed.do(jwtReq{auth: bearer(hs256(t, claims("j")))}))
	// ExpiringSec: exp − iat exactly.
	exp := newJWTServer(t, JWTConfig{DecodeSecret: testSecret, ExpiringSec: 600})
	c = claims("j")
	c.IssuedAt, c.ExpiresAt = ptr(jwtNow.Unix()), ptr(jwtNow.Unix()+600)
	wantOK(t, exp.do(jwtReq{auth: bearer(hs256(t, c))}))
	// Exact size, by Content-Length and once read.
	ver := newJWTServer(t, JWTConfig{DecodeSecret: testSecret, VerifyUpload: true})
	c = claims("sized")
	c.Size = ptr[uint64](5)
	wantOK(t, ver.do(jwtReq{auth: bearer(hs256(t, c)), body: "12345"}))
	wantOK(t, ver.do(jwtReq{auth: bearer(hs256(t, c.withJTI("sized-chunked"))), body: "12345", chunked: true}))
	wantOK(t, ver.do(jwtReq{auth: bearer(hs256(t, claims("default epochs") /* no limits */)), query: "epochs=1"}))
}

func (c *JWTClaims) withJTI(jti string) *JWTClaims {
	d := *c
	d.JTI = &jti
	return &d
}

func TestJWTReplay(t *testing.T) {
	s := newJWTServer(t, JWTConfig{DecodeSecret: testSecret, VerifyUpload: true})
	c := claims("once")
	c.Epochs = ptr[uint32](1)
	tok := bearer(hs256(t, c))
	// A refusal after the jti was recorded forgets it again (Walrus).
	wantRefusal(t, s.do(jwtReq{query: "epochs=2", auth: tok}), 400, "FAILED_PRECONDITION", ReasonJWTInvalidEpochs, JWTErrorDomain)
	wantOK(t, s.do(jwtReq{query: "epochs=1", auth: tok}))
	wantRefusal(t, s.do(jwtReq{query: "epochs=1", auth: tok}), 429, "RESOURCE_EXHAUSTED", ReasonJWTTokenAlreadyUsed, JWTErrorDomain)
	// Another token with the same jti is the same token.
	wantRefusal(t, s.do(jwtReq{auth: bearer(hs256(t, claims("once").withJTI("once")))}), 429, "RESOURCE_EXHAUSTED", ReasonJWTTokenAlreadyUsed, JWTErrorDomain)
	if n := s.auth.cache.len(); n != 1 {
		t.Fatalf("cache holds %d", n)
	}
}

// TestJWTReplayConcurrent sends one token many times at once: exactly one
// request passes.
func TestJWTReplayConcurrent(t *testing.T) {
	s := newJWTServer(t, JWTConfig{DecodeSecret: testSecret})
	tok := bearer(hs256(t, claims("race")))
	var ok, used atomic.Int32
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			switch w := s.do(jwtReq{auth: tok}); w.Code {
			case 200:
				ok.Add(1)
			case 429:
				used.Add(1)
			default:
				t.Errorf("status %d", w.Code)
			}
		}()
	}
	wg.Wait()
	if ok.Load() != 1 || used.Load() != 15 {
		t.Fatalf("%d passed, %d refused as used", ok.Load(), used.Load())
	}
}

func TestJWTReplayCacheBounded(t *testing.T) {
	now := jwtNow
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	s := newJWTServer(t, JWTConfig{DecodeSecret: testSecret, CacheSize: 2, Now: clock})
	short := func(jti string, d time.Duration) string {
		c := claims(jti)
		c.ExpiresAt = ptr(now.Add(d).Unix())
		return bearer(hs256(t, c))
	}
	wantOK(t, s.do(jwtReq{auth: short("a", time.Minute)}))
	wantOK(t, s.do(jwtReq{auth: short("b", time.Hour)}))
	wantRefusal(t, s.do(jwtReq{auth: short("c", time.Hour)}), 500, "INTERNAL", ReasonJWTInternal, JWTErrorDomain)
	// "a" is kept until its exp plus the leeway (it is accepted until
	// then), then makes room.
	mu.Lock()
	now = now.Add(time.Minute + JWTLeeway - time.Second)
	mu.Unlock()
	wantRefusal(t, s.do(jwtReq{auth: short("d", time.Hour)}), 500, "INTERNAL", ReasonJWTInternal, JWTErrorDomain)
	mu.Lock()
	now = now.Add(time.Second)
	mu.Unlock()
	wantOK(t, s.do(jwtReq{auth: short("d", time.Hour)}))
	if n := s.auth.cache.len(); n != 2 {
		t.Fatalf("cache holds %d, want 2", n)
	}
}

// TestJWTNoSecret: without a secret the signature is not checked (a
// gateway did), as Walrus; the claims still are.
func TestJWTNoSecret(t *testing.T) {
	s := newJWTServer(t, JWTConfig{VerifyUpload: true})
	c := claims("j")
	c.Epochs = ptr[uint32](1)
	wantOK(t, s.do(jwtReq{auth: bearer(sign(t, jwt.SigningMethodHS512, []byte("any key"), c))}))
	c = claims("k")
	c.Epochs = ptr[uint32](1)
	wantRefusal(t, s.do(jwtReq{query: "epochs=2", auth: bearer(hs256(t, c))}), 400, "FAILED_PRECONDITION", ReasonJWTInvalidEpochs, JWTErrorDomain)
	c = claims("l")
	c.ExpiresAt = ptr(jwtNow.Add(-time.Hour).Unix())
	wantRefusal(t, s.do(jwtReq{auth: bearer(hs256(t, c))}), 504, "DEADLINE_EXCEEDED", ReasonJWTExpiredSignature, JWTErrorDomain)
	wantRefusal(t, s.do(jwtReq{auth: bearer(sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, claims("m")))}),
		400, "FAILED_PRECONDITION", ReasonJWTInvalidToken, JWTErrorDomain)
}

// TestJWTAsymmetric verifies EdDSA, ES256, ES384, RS256 and PS256 tokens
// with public keys given as Walrus takes them (raw Ed25519, SEC 1 point,
// PKCS #1) and as PKIX DER.
func TestJWTAsymmetric(t *testing.T) {
	edPub, edKey, _ := ed25519.GenerateKey(rand.Reader)
	ec256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ec384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	point := func(k *ecdsa.PrivateKey) []byte {
		b, err := k.PublicKey.Bytes()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	pkix := func(k any) []byte {
		b, err := x509.MarshalPKIXPublicKey(k)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	h := func(b []byte) string { return "0x" + hex.EncodeToString(b) }
	for _, tc := range []struct {
		alg    string
		method jwt.SigningMethod
		sign   any
		keys   []string
	}{
		{"EdDSA", jwt.SigningMethodEdDSA, edKey, []string{h(edPub), h(pkix(edPub))}},
		{"ES256", jwt.SigningMethodES256, ec256, []string{h(point(ec256)), h(pkix(&ec256.PublicKey))}},
		{"ES384", jwt.SigningMethodES384, ec384, []string{h(point(ec384)), h(pkix(&ec384.PublicKey))}},
		{"RS256", jwt.SigningMethodRS256, rsaKey, []string{h(x509.MarshalPKCS1PublicKey(&rsaKey.PublicKey)), h(pkix(&rsaKey.PublicKey))}},
		{"PS256", jwt.SigningMethodPS256, rsaKey, []string{h(x509.MarshalPKCS1PublicKey(&rsaKey.PublicKey))}},
	} {
		for i, key := range tc.keys {
			t.Run(fmt.Sprintf("%s/key%d", tc.alg, i), func(t *testing.T) {
				s := newJWTServer(t, JWTConfig{DecodeSecret: key, Algorithm: tc.alg})
				wantOK(t, s.do(jwtReq{auth: bearer(sign(t, tc.method, tc.sign, claims("j")))}))
				// Signed with another key of the same kind.
				var other any
				switch tc.alg[:2] {
				case "Ed":
					_, other, _ = ed25519.GenerateKey(rand.Reader)
				case "ES":
					other, _ = ecdsa.GenerateKey(tc.sign.(*ecdsa.PrivateKey).Curve, rand.Reader)
				default:
					other, _ = rsa.GenerateKey(rand.Reader, 2048)
				}
				wantRefusal(t, s.do(jwtReq{auth: bearer(sign(t, tc.method, other, claims("k")))}), 401, "UNAUTHENTICATED", ReasonJWTInvalidSignature, JWTErrorDomain)
				// An HMAC token against a public key (algorithm confusion).
				wantRefusal(t, s.do(jwtReq{auth: bearer(sign(t, jwt.SigningMethodHS256, []byte(key), claims("l")))}), 400, "FAILED_PRECONDITION", ReasonJWTInvalidToken, JWTErrorDomain)
			})
		}
	}
}

func TestJWTConfig(t *testing.T) {
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p256, _ := ec.PublicKey.Bytes()
	for _, tc := range []struct {
		name string
		cfg  JWTConfig
		ok   bool
	}{
		{"defaults", JWTConfig{}, true},
		{"secret", JWTConfig{DecodeSecret: "0xff"}, true},
		{"odd hex", JWTConfig{DecodeSecret: "0xf"}, false},
		{"not hex", JWTConfig{DecodeSecret: "0xfg"}, false},
		{"empty hex", JWTConfig{DecodeSecret: "0x"}, false},
		{"unknown algorithm", JWTConfig{Algorithm: "HS1"}, false},
		{"lower case algorithm", JWTConfig{Algorithm: "hs256"}, false},
		{"none", JWTConfig{Algorithm: "none"}, false},
		{"EdDSA short key", JWTConfig{Algorithm: "EdDSA", DecodeSecret: "0x" + strings.Repeat("ab", 31)}, false},
		{"EdDSA key", JWTConfig{Algorithm: "EdDSA", DecodeSecret: "0x" + strings.Repeat("ab", 32)}, true},
		{"EdDSA without key", JWTConfig{Algorithm: "EdDSA"}, true},
		{"ES256 key", JWTConfig{Algorithm: "ES256", DecodeSecret: "0x" + hex.EncodeToString(p256)}, true},
		{"ES384 with a P-256 key", JWTConfig{Algorithm: "ES384", DecodeSecret: "0x" + hex.EncodeToString(p256)}, false},
		{"RS256 garbage", JWTConfig{Algorithm: "RS256", DecodeSecret: "0x0102"}, false},
		{"negative expiring", JWTConfig{ExpiringSec: -1}, false},
		{"cache too large", JWTConfig{CacheSize: MaxJWTCacheSize + 1}, false},
		{"cache negative", JWTConfig{CacheSize: -1}, false},
		{"cache at the limit", JWTConfig{CacheSize: MaxJWTCacheSize}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewJWTAuth(tc.cfg)
			if (err == nil) != tc.ok || err != nil && !errors.Is(err, ErrJWTConfig) {
				t.Fatalf("NewJWTAuth: %v, want ok = %v", err, tc.ok)
			}
		})
	}
	// Every problem is reported, each naming its flag.
	cfg := JWTConfig{Algorithm: "XX", ExpiringSec: -1, CacheSize: -1}
	err := cfg.Validate()
	for _, flag := range []string{"--jwt-algorithm", "--jwt-expiring-sec", "--jwt-cache-size"} {
		if err == nil || !strings.Contains(err.Error(), flag) {
			t.Errorf("Validate: %v, want %s named", err, flag)
		}
	}
	for _, tc := range []struct {
		cfg  JWTConfig
		want bool
	}{
		{JWTConfig{}, false}, {JWTConfig{DecodeSecret: "s"}, true}, {JWTConfig{ExpiringSec: 1}, true},
		{JWTConfig{VerifyUpload: true}, true}, {JWTConfig{Algorithm: "HS512"}, false},
	} {
		if got := tc.cfg.Enabled(); got != tc.want {
			t.Errorf("%+v.Enabled() = %v", tc.cfg, got)
		}
	}
}

func TestJWTMultipleAuthorization(t *testing.T) {
	s := newJWTServer(t, JWTConfig{DecodeSecret: testSecret})
	req := httptest.NewRequest(http.MethodPut, "/v1/blobs", bytes.NewReader(nil))
	req.Header.Add("Authorization", bearer(hs256(t, claims("a"))))
	req.Header.Add("Authorization", bearer(hs256(t, claims("b"))))
	w := httptest.NewRecorder()
	s.h.ServeHTTP(w, req)
	wantRefusal(t, w, 400, "FAILED_PRECONDITION", ReasonJWTInvalidToken, JWTErrorDomain)
}

func TestCheckJWTUploadSizeWithoutClaims(t *testing.T) {
	if e := checkJWTUploadSize(httptest.NewRequest(http.MethodPut, "/", nil).Context(), 1<<40); e != nil {
		t.Fatalf("no claims: %v", e)
	}
}
