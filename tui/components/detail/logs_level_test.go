package detail

import "testing"

func TestLevelOf(t *testing.T) {
	for line, want := range map[string]level{
		`time=2026-01-02T03:04:05Z level=INFO msg="shutting down"`: levelInfo,
		`time=2026-01-02T03:04:05Z level=WARN+2 msg=x`:             levelWarn,
		`level="error" msg=x`:                                      levelError,
		`{"time":"…","level":"info","msg":"ready"}`:                levelInfo,
		`{"severity": "DEBUG", "message": "x"}`:                    levelDebug,
		`2026/01/02 03:04:05 INFO starting`:                        levelInfo,
		`2026-01-02 03:04:05 [info] listening`:                     levelInfo,
		`[ERROR] disk full`:                                        levelError,
		`FATAL: cannot open`:                                       levelError,
		`chaos: stderr line 3`:                                     levelNone,
		`panic: runtime error: index out of range`:                 levelNone, // a Go crash says no level: an error
		`some info about errors`:                                   levelNone, // prose, not a level
		`relevel=info`:                                             levelNone,
		``:                                                         levelNone,
	} {
		if got := levelOf(line); got != want {
			t.Errorf("levelOf(%q) = %d, want %d", line, got, want)
		}
	}
}
