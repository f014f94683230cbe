package state

import (
	"slices"
	"testing"
)

func TestNatural(t *testing.T) {
	got := []string{"echo.10", "echo.2", "echo", "echo.1", "echo.02x", "echo.0", "a9", "a10b", "a10a"}
	slices.SortFunc(got, Natural)
	want := []string{"a9", "a10a", "a10b", "echo", "echo.0", "echo.1", "echo.2", "echo.02x", "echo.10"}
	if !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}
