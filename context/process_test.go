package context_test

import (
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestKillAndRestartProcess builds internal/crashtest, a stateful word
// count over a directory on the system clock (50 ms batches, checkpoints),
// writes input files into its directory over time, kills it with SIGKILL
// at random moments (fixed seed) five times, restarting it each time, then
// lets it finish: its final state must equal that of an uninterrupted run
// of the same program over the same files, and an independent count.
func TestKillAndRestartProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs a program for several seconds")
	}
	work := t.TempDir()
	bin := filepath.Join(work, "crashtest")
	build := exec.Command("go", "build", "-o", bin, "./internal/crashtest")
	if outp, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, outp)
	}
	const files = 40
	rng := rand.New(rand.NewPCG(2026, 6))
	words := []string{"alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta"}
	contents := make([]string, files)
	want := map[string]int{"__file__": files}
	for i := range contents {
		var b strings.Builder
		b.WriteString("__file__\n")
		for range 20 + rng.IntN(200) {
			w := words[rng.IntN(len(words))]
			want[w]++
			b.WriteString(w)
			b.WriteByte(' ')
			if rng.IntN(8) == 0 {
				b.WriteByte('\n')
			}
		}
		contents[i] = b.String()
	}
	var expected strings.Builder
	for _, w := range slices.Sorted(func(yield func(string) bool) {
		for w := range want {
			if !yield(w) {
				return
			}
		}
	}) {
		fmt.Fprintf(&expected, "%s %d\n", w, want[w])
	}

	writeFiles := func(dir string, pause time.Duration) {
		for i, c := range contents {
			tmp := filepath.Join(dir, fmt.Sprintf(".f%03d", i))
			require.NoError(t, os.WriteFile(tmp, []byte(c), 0o644))
			require.NoError(t, os.Rename(tmp, filepath.Join(dir, fmt.Sprintf("f%03d", i))))
			time.Sleep(pause)
		}
	}
	command := func(in, ckpt, out string) *exec.Cmd {
		cmd := exec.Command(bin, "-in", in, "-checkpoint", ckpt, "-out", out, "-files", fmt.Sprint(files), "-batch", "50ms")
		cmd.Stderr = os.Stderr
		return cmd
	}
	finish := func(cmd *exec.Cmd) {
		require.NoError(t, cmd.Start())
		errc := make(chan error, 1)
		go func() { errc <- cmd.Wait() }()
		select {
		case err := <-errc:
			require.NoError(t, err)
		case <-time.After(40 * time.Second):
			_ = cmd.Process.Kill()
			<-errc
			t.Fatal("the program did not finish")
		}
	}

	// Uninterrupted.
	inA, outA := filepath.Join(work, "inA"), filepath.Join(work, "outA")
	require.NoError(t, os.Mkdir(inA, 0o755))
	writeFiles(inA, 0)
	finish(command(inA, filepath.Join(work, "ckptA"), outA))
	gotA, err := os.ReadFile(outA)
	require.NoError(t, err)
	require.Equal(t, expected.String(), string(gotA))

	// Killed five times while files arrive, then left to finish.
	inB, outB, ckptB := filepath.Join(work, "inB"), filepath.Join(work, "outB"), filepath.Join(work, "ckptB")
	require.NoError(t, os.Mkdir(inB, 0o755))
	writing := make(chan struct{})
	go func() {
		defer close(writing)
		writeFiles(inB, 30*time.Millisecond)
	}()
	for kill := range 5 {
		cmd := command(inB, ckptB, outB)
		require.NoError(t, cmd.Start())
		time.Sleep(time.Duration(100+rng.IntN(400)) * time.Millisecond)
		require.NoError(t, cmd.Process.Signal(syscall.SIGKILL), "kill %d", kill)
		_ = cmd.Wait()
		_ = os.Remove(outB) // only the finished run's output counts
	}
	<-writing
	finish(command(inB, ckptB, outB))
	gotB, err := os.ReadFile(outB)
	require.NoError(t, err)
	require.Equal(t, string(gotA), string(gotB))
}
