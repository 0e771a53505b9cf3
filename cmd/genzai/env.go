package main

import (
	"errors"
	"fmt"
	"io/fs"

	"github.com/joho/godotenv"
)

// withEnvFile layers the variables of a .env file under the environment and
// returns a getenv: a variable set in the real environment (even to "") wins
// over the file. A missing file is an error only when the user named it.
func withEnvFile(lookupEnv func(string) (string, bool), path string, explicit bool) (func(string) string, error) {
	vars, err := godotenv.Read(path)
	switch {
	case errors.Is(err, fs.ErrNotExist) && !explicit:
		vars = nil
	case err != nil:
		return nil, fmt.Errorf("read env file %s: %w", path, err)
	}
	return func(key string) string {
		if v, ok := lookupEnv(key); ok {
			return v
		}
		return vars[key]
	}, nil
}
