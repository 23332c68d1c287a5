package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// pidLockFile is the file in a devnet's or node's folder that the running
// process locks and writes its pid to.
const pidLockFile = "walrus.pid"

// errAlreadyRunning is returned by lockDir for a folder another process
// holds.
var errAlreadyRunning = errors.New("already running")

// lockDir takes the folder's pid lock (an flock, released when the process
// ends however it ends) and writes the pid into it. For a folder another
// process holds it returns errAlreadyRunning naming that process's pid.
// unlock releases the lock.
func lockDir(dir, what string) (unlock func(), err error) {
	path := filepath.Join(dir, pidLockFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		b, _ := os.ReadFile(path)
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			pid := strings.TrimSpace(string(b))
			if _, perr := strconv.Atoi(pid); perr != nil {
				pid = "unknown"
			}
			return nil, fmt.Errorf("%s in %s: %w (pid %s); stop it first, or use another folder", what, dir, errAlreadyRunning, pid)
		}
		return nil, fmt.Errorf("locking %s: %w", path, err)
	}
	if err := f.Truncate(0); err == nil {
		f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return func() {
		f.Truncate(0)
		f.Close()
	}, nil
}
