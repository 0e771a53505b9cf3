// Command genzai is the GenZ AI gateway: the server and its operator tools.
package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/genzai/genzai/app"
)

// version is stamped at build time: -ldflags "-X main.version=v1.2.3".
var version string

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.LookupEnv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(exitCode(err))
}

// errSilent fails a command whose output already said why.
var errSilent = errors.New("")

// exitCode is 0 on success, 2 for a wrong command line, 1 otherwise.
func exitCode(err error) int {
	var ue *usageError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ue):
		return 2
	default:
		return 1
	}
}

// run executes the command line and reports errors on stderr; the error it
// returns only decides the exit code. lookupEnv reads the environment
// (os.LookupEnv), telling unset from set-to-empty.
func run(ctx context.Context, args []string, lookupEnv func(string) (string, bool), stdin io.Reader, stdout, stderr io.Writer) error {
	root := newRootCmd(lookupEnv, stdin, stdout, stderr)
	root.SetArgs(args)
	cmd, err := root.ExecuteContextC(ctx)
	var cfgErr *app.ConfigError
	var ue *usageError
	switch {
	case err == nil, err == errSilent:
	case errors.As(err, &ue):
		fmt.Fprintln(stderr, "error:", err)
		fmt.Fprintln(stderr, "usage:", usageLine(cmd))
		fmt.Fprintf(stderr, "run '%s --help' for more\n", cmd.CommandPath())
	case errors.As(err, &cfgErr):
		fmt.Fprintln(stderr, "genzai: invalid configuration:")
		for _, p := range cfgErr.Problems {
			fmt.Fprintln(stderr, "  "+p)
		}
	default:
		fmt.Fprintln(stderr, "error:", err)
	}
	return err
}

// cli carries what every command needs.
type cli struct {
	// onInterrupt calls stop on Ctrl-C until the returned function is
	// called; tests replace it.
	onInterrupt func(stop func()) (release func())
	lookupEnv   func(string) (string, bool)
	stdin       io.Reader
	in          *bufio.Reader
	envFile     string
	stdout      io.Writer
	stderr      io.Writer
}

func newRootCmd(lookupEnv func(string) (string, bool), stdin io.Reader, stdout, stderr io.Writer) *cobra.Command {
	return newCLI(lookupEnv, stdin, stdout, stderr).rootCmd()
}

func newCLI(lookupEnv func(string) (string, bool), stdin io.Reader, stdout, stderr io.Writer) *cli {
	return &cli{lookupEnv: lookupEnv, stdin: stdin, stdout: stdout, stderr: stderr, onInterrupt: interruptStops}
}

func (c *cli) rootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "genzai",
		Short:         "GenZ AI gateway: routes chat prompts to AI providers with quotas and fallbacks",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(c.stdout)
	root.SetErr(c.stderr)
	root.PersistentFlags().StringVar(&c.envFile, "env-file", ".env",
		"file of KEY=value lines read before the environment (the environment wins); a missing default file is ignored")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &usageError{msg: err.Error()} })
	// Required flags are checked here rather than by cobra after PreRun, so
	// that a missing one is a usage error too.
	root.PersistentPreRunE = func(cmd *cobra.Command, _ []string) error {
		if err := cmd.ValidateRequiredFlags(); err != nil {
			return asUsageError(err)
		}
		if err := cmd.ValidateFlagGroups(); err != nil {
			return asUsageError(err)
		}
		return nil
	}
	root.AddCommand(c.serveCmd(), c.migrateCmd(), c.versionCmd(),
		c.configCmd(), c.healthCmd(), c.statusCmd(), c.loginCmd(false), c.loginCmd(true),
		c.quotaCmd(), c.modelsCmd(), c.searchCmd(), c.chatCmd(), c.doctorCmd(),
		c.feedbackCmd(), c.keysCmd(), c.meCmd(), c.adminCmd(), c.imageCmd(),
		c.transcribeCmd(), c.speakCmd())
	root.AddCommand(c.logoutCmd())
	root.AddCommand(c.conversationsCmd())
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd()
	usageRules(root)
	return root
}

// usageRules makes every wrong command line of the tree a *usageError (exit
// code 2): an unknown command, which cobra reports as a plain error or, below
// the root, not at all (it prints the help and succeeds), and a wrong number
// of arguments, which cobra's own validators report as plain errors.
func usageRules(cmd *cobra.Command) {
	if cmd.HasSubCommands() {
		if cmd.Run == nil && cmd.RunE == nil {
			cmd.RunE = group
		}
		if cmd.Args == nil {
			cmd.Args = cobra.ArbitraryArgs // group names the unknown command
		}
	}
	if cmd.Args == nil {
		cmd.Args = cobra.NoArgs
	}
	validate := cmd.Args
	cmd.Args = func(cmd *cobra.Command, args []string) error {
		if err := validate(cmd, args); err != nil {
			return asUsageError(err)
		}
		return nil
	}
	for _, sub := range cmd.Commands() {
		usageRules(sub)
	}
}

// group runs a command that only holds subcommands: alone it prints its
// help, with an unknown subcommand it is a usage error.
func group(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return cmd.Help()
	}
	msg := fmt.Sprintf("unknown command %q for %q", args[0], cmd.CommandPath())
	if cmd.SuggestionsMinimumDistance <= 0 {
		cmd.SuggestionsMinimumDistance = 2 // cobra's own default, which only its root check applies
	}
	if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
		msg += fmt.Sprintf(" (did you mean %s?)", strings.Join(s, " or "))
	}
	return &usageError{msg: msg}
}

// asUsageError marks an error of the command line's shape (cobra's argument
// and flag validators) as a usage error.
func asUsageError(err error) error {
	var ue *usageError
	if errors.As(err, &ue) {
		return err
	}
	return &usageError{msg: err.Error()}
}

// usageLine is the one-line synopsis printed under a usage error.
func usageLine(cmd *cobra.Command) string {
	if cmd.HasAvailableSubCommands() {
		return cmd.CommandPath() + " COMMAND [flags]"
	}
	return cmd.UseLine()
}

// loadConfig reads the configuration from the environment and the env file.
func (c *cli) loadConfig(cmd *cobra.Command) (app.Config, error) {
	getenv, err := withEnvFile(c.lookupEnv, c.envFile, cmd.Flags().Changed("env-file"))
	if err != nil {
		return app.Config{}, err
	}
	cfg, err := app.LoadConfig(getenv)
	if err != nil {
		return app.Config{}, err
	}
	cfg.Version = buildVersion()
	return cfg, nil
}

// interruptStops runs stop on SIGINT while an answer streams, so that Ctrl-C
// ends the answer and not the session.
func interruptStops(stop func()) func() {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, os.Interrupt)
	done := make(chan struct{})
	go func() {
		select {
		case <-ch:
			stop()
		case <-done:
		}
	}()
	return func() {
		signal.Stop(ch)
		close(done)
	}
}
