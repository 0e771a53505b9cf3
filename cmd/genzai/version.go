package main

import (
	"fmt"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// buildVersion is the stamped version, else the module version, else the
// VCS revision, else "dev".
func buildVersion() string {
	if version != "" {
		return version
	}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "dev"
	}
	if v := info.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	for _, s := range info.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			return "dev-" + s.Value[:12]
		}
	}
	return "dev"
}

func (c *cli) versionCmd() *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:     "version",
		Short:   "Print the build version",
		Example: "  genzai version\n  genzai version -o json",
		Args:    exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			switch output {
			case "", "text":
				_, err := fmt.Fprintln(c.stdout, buildVersion())
				return err
			case "json":
				_, err := fmt.Fprintf(c.stdout, "{\"version\": %q}\n", buildVersion())
				return err
			}
			return usageErrorf("--output must be text or json")
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "", "output format: text or json")
	return cmd
}
