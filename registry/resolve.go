package registry

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Resolve picks the config file: flagPath (--config), else
// $PLUGVISOR_CONFIG, else $XDG_CONFIG_HOME/plugvisor/config.toml, else
// $HOME/.config/plugvisor/config.toml. A path the operator gave must exist;
// a missing default is not an error but ErrNoConfig (wrapped, naming the
// path looked at), after which plugvisor runs its demo. getenv nil means
// os.Getenv.
func Resolve(flagPath string, getenv func(string) string) (string, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	if flagPath != "" {
		return given(flagPath, "--config")
	}
	if p := getenv("PLUGVISOR_CONFIG"); p != "" {
		return given(p, "$PLUGVISOR_CONFIG")
	}
	def := defaultConfigPath(getenv)
	if def == "" {
		return "", fmt.Errorf("%w: neither $XDG_CONFIG_HOME nor $HOME is set", ErrNoConfig)
	}
	fi, err := os.Stat(def)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "", fmt.Errorf("%w: %s does not exist", ErrNoConfig, def)
	case err != nil:
		return "", fmt.Errorf("config file %s: %w", def, statErr(err))
	case fi.IsDir():
		return "", fmt.Errorf("config file %s: is a directory", def)
	}
	return def, nil
}

func given(path, from string) (string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return "", fmt.Errorf("config file %s (from %s): %w", path, from, statErr(err))
	}
	if fi.IsDir() {
		return "", fmt.Errorf("config file %s (from %s): is a directory", path, from)
	}
	return path, nil
}

// defaultConfigPath follows the XDG base directory spec, which says to
// ignore a relative $XDG_CONFIG_HOME.
func defaultConfigPath(getenv func(string) string) string {
	if x := getenv("XDG_CONFIG_HOME"); filepath.IsAbs(x) {
		return filepath.Join(x, "plugvisor", "config.toml")
	}
	if home := getenv("HOME"); filepath.IsAbs(home) {
		return filepath.Join(home, ".config", "plugvisor", "config.toml")
	}
	return ""
}
