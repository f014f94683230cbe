package registry

// StateDir is plugvisor's state directory as the XDG base directory spec
// places it ($XDG_STATE_HOME/plugvisor, else ~/.local/state/plugvisor),
// the default work directory: the console keeps what it saves there too.
// It is "" when neither variable gives an absolute path.
func StateDir(getenv func(string) string) string { return defaultWorkDir(getenv) }
