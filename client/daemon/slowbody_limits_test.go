package daemon_test

import (
	"testing"
	"time"

	"github.com/walrus-go/walrus/client/daemon"
)

// slowBodyLimits shortens the receiving limits so that the attack test
// sees the attackers cut within seconds.
func slowBodyLimits(c *daemon.Config) {
	c.BodyIdleTimeout = 3 * time.Second
	c.BodyRateGrace = 2 * time.Second
	c.MinBodyRate = 1 << 10
}

// checkAttackersCut checks that every attacker was refused at once (429:
// too many uploads from its address) or cut (400 BODY_TOO_SLOW), and that
// only the honest PUTs registered blobs.
func checkAttackersCut(t *testing.T, e *env, answers chan int, attackers, honest int) {
	t.Helper()
	codes := map[int]int{}
	timeout := time.After(time.Minute)
	for range attackers {
		select {
		case c := <-answers:
			codes[c]++
		case <-timeout:
			t.Fatalf("attackers still held after a minute: answers %v", codes)
		}
	}
	t.Logf("attackers' answers: %v", codes)
	if codes[429] != attackers-daemon.DefaultMaxBodiesPerClient || codes[400] != daemon.DefaultMaxBodiesPerClient {
		t.Errorf("attackers' answers %v, want %d × 400 and %d × 429", codes, daemon.DefaultMaxBodiesPerClient, attackers-daemon.DefaultMaxBodiesPerClient)
	}
	if got := len(e.blobObjects(t)); got != honest {
		t.Errorf("%d blob objects, want the %d honest ones", got, honest)
	}
}
