package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/genzai/genzai/api"
)

func (c *cli) imageCmd() *cobra.Command {
	var f clientFlags
	var file, size string
	var n int
	cmd := &cobra.Command{
		Use:   "image PROMPT",
		Short: "Generate an image and write it to a file",
		Long: `Generates an image from PROMPT through the gateway (POST /api/v1/images; the
server must run with ENABLE_IMAGE_GENERATION=true) and writes it to the file
--output names, created readable by you alone. With -n above 1 the files are
numbered before the extension (out-1.png, out-2.png, ...). An image costs
several units of the daily quota (IMAGE_QUOTA_COST on the server, 5 by
default).`,
		Example: "  genzai image \"a watercolour fox in the snow\" -o fox.png\n  genzai image \"a lighthouse at dusk\" --size 1024x768 -n 2 -o lighthouse.png",
		Args:    exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if file == "" {
				return usageErrorf("--output is required: the file to write the image to")
			}
			cn, err := c.connect(f)
			if err != nil {
				return err
			}
			body := api.GenerateImagesJSONRequestBody{Prompt: args[0]}
			if size != "" {
				body.Size = &size
			}
			if cmd.Flags().Changed("n") {
				body.N = &n
			}
			res, err := cn.client.GenerateImagesWithResponse(cmd.Context(), body)
			if err := cn.check(err, func() (int, []byte) { return res.StatusCode(), res.Body }); err != nil {
				return err
			}
			reply, err := parsed(res.JSON200, res.Body)
			if err != nil {
				return err
			}
			for i, img := range reply.Images {
				name := file
				if len(reply.Images) > 1 {
					ext := filepath.Ext(file)
					name = strings.TrimSuffix(file, ext) + "-" + strconv.Itoa(i+1) + ext
				}
				if err := os.WriteFile(name, img.B64Json, 0o600); err != nil {
					return fmt.Errorf("write the image: %w", err)
				}
				if _, err := fmt.Fprintf(c.stderr, "wrote %s: %s, %d bytes, by %s (%s)\n",
					name, img.MimeType, len(img.B64Json), reply.Provider, reply.Model); err != nil {
					return err
				}
			}
			return nil
		},
	}
	// --output names the file here, as for "me export": no output format.
	cmd.Flags().StringVar(&f.host, "host", "", "server URL (default: GENZAI_HOST, the config file, then "+defaultHost+")")
	cmd.Flags().StringVar(&f.token, "token", "", "access token or API key (default: GENZAI_TOKEN, then the config file)")
	cmd.Flags().StringVarP(&file, "output", "o", "", "the file to write the image to (required)")
	cmd.Flags().StringVar(&size, "size", "", "WIDTHxHEIGHT in pixels (default 1024x1024)")
	cmd.Flags().IntVarP(&n, "n", "n", 1, "how many images (1 to 4)")
	return cmd
}
