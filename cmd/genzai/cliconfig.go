package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"go.yaml.in/yaml/v3"
)

// cliSettings are the client commands' settings, stored as YAML.
type cliSettings struct {
	Host   string `yaml:"host,omitempty"`
	Token  string `yaml:"token,omitempty"`
	Model  string `yaml:"model,omitempty"`
	Output string `yaml:"output,omitempty"`
}

// defaultHost is where the client commands look for a server.
const defaultHost = "http://localhost:8000"

// settingKeys are the settings, in the order list prints them.
var settingKeys = []string{"host", "model", "output", "token"}

// configPath is GENZAI_CONFIG, else <user config dir>/genzai/config.yaml.
func (c *cli) configPath() (string, error) {
	if p := c.env("GENZAI_CONFIG"); p != "" {
		return p, nil
	}
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("find the config directory: %w", err)
	}
	return filepath.Join(dir, "genzai", "config.yaml"), nil
}

func (c *cli) loadSettings() (cliSettings, error) {
	var s cliSettings
	path, err := c.configPath()
	if err != nil {
		return s, err
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return s, fmt.Errorf("read %s: %w", path, err)
	}
	if err := yaml.Unmarshal(b, &s); err != nil {
		return s, fmt.Errorf("read %s: %w", path, err)
	}
	return s, nil
}

// saveSettings writes the file readable by its owner only: it holds a token.
func (c *cli) saveSettings(s cliSettings) error {
	path, err := c.configPath()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("create %s: %w", filepath.Dir(path), err)
	}
	b, err := yaml.Marshal(s)
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Chmod(tmp, 0o600); err != nil { // WriteFile keeps an existing file's mode
		return err
	}
	return os.Rename(tmp, path)
}

func (s *cliSettings) get(key string) (string, error) {
	switch key {
	case "host":
		return s.Host, nil
	case "token":
		return s.Token, nil
	case "model":
		return s.Model, nil
	case "output":
		return s.Output, nil
	}
	return "", usageErrorf("unknown key %q (keys: %s)", key, strings.Join(settingKeys, ", "))
}

func (s *cliSettings) set(key, value string) error {
	switch key {
	case "host":
		value = strings.TrimRight(value, "/")
		if !strings.HasPrefix(value, "http://") && !strings.HasPrefix(value, "https://") && value != "" {
			return usageErrorf("host must start with http:// or https://")
		}
		s.Host = value
	case "token":
		s.Token = value
	case "model":
		if value != "" && value != "fast" && value != "balanced" && value != "smart" {
			return usageErrorf("model must be fast, balanced or smart")
		}
		s.Model = value
	case "output":
		if value != "" && value != "text" && value != "json" {
			return usageErrorf("output must be text or json")
		}
		s.Output = value
	default:
		return usageErrorf("unknown key %q (keys: %s)", key, strings.Join(settingKeys, ", "))
	}
	return nil
}

// setting is a setting's effective value and where it comes from.
type setting struct {
	value  string
	source string
}

// effective resolves a setting as the client commands do: environment >
// config file > default (the commands' flags come first, but config has
// none).
func (c *cli) effective(key string) (setting, error) {
	s, err := c.loadSettings()
	if err != nil {
		return setting{}, err
	}
	stored, err := s.get(key)
	if err != nil {
		return setting{}, err
	}
	path, err := c.configPath()
	if err != nil {
		return setting{}, err
	}
	if env := settingEnv[key]; env != "" {
		if v := c.env(env); v != "" {
			src := "from the environment: " + env
			if stored != "" {
				shown := stored
				if key == "token" {
					shown = maskToken(shown)
				}
				src += fmt.Sprintf(", over %s in the config file", shown)
			}
			return setting{value: v, source: src}, nil
		}
	}
	if stored != "" {
		return setting{value: stored, source: "from the config file " + path}, nil
	}
	switch key {
	case "host":
		return setting{value: defaultHost, source: "default; change it with: genzai config set host URL"}, nil
	case "model":
		return setting{value: "fast", source: "default"}, nil
	case "output":
		return setting{value: "text", source: "default"}, nil
	}
	return setting{source: "not set; log in with: genzai login"}, nil
}

// settingEnv names the environment variable that overrides a setting.
var settingEnv = map[string]string{"host": "GENZAI_HOST", "token": "GENZAI_TOKEN"}

// maskToken shows enough of a token to recognise it.
func maskToken(t string) string {
	if len(t) <= 8 {
		return strings.Repeat("*", len(t))
	}
	return t[:4] + "…" + t[len(t)-4:]
}
