package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/genzai/genzai/api"
)

func (c *cli) feedbackCmd() *cobra.Command {
	var f clientFlags
	var comment string
	cmd := &cobra.Command{
		Use:   "feedback REQUEST-ID up|down",
		Short: "Rate one of your chat answers up or down",
		Long: `Rate one of your chat answers up or down, with an optional comment.

The request id is the X-Request-ID of the chat response, the "id" of a JSON
answer (genzai chat --no-stream -o json) or the request_id of a stream's meta
event. Rating the same answer again replaces the earlier rating.`,
		Example: `  genzai feedback 6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f up
  genzai feedback 6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f down --comment "Wrong year"`,
		Args: exactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			rating := api.Rating(args[1])
			if !rating.Valid() {
				return usageErrorf("the rating must be up or down; got %q", args[1])
			}
			body := api.FeedbackRequest{RequestId: args[0], Rating: rating}
			if comment != "" {
				body.Comment = &comment
			}
			cn, err := c.connect(f)
			if err != nil {
				return err
			}
			res, err := cn.client.SubmitFeedbackWithResponse(cmd.Context(), body)
			if err := cn.check(err, func() (int, []byte) { return res.StatusCode(), res.Body }); err != nil {
				return err
			}
			if cn.json {
				return printJSON(c.stdout, res.Body)
			}
			fb, err := parsed(res.JSON200, res.Body)
			if err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "rated %s %s", fb.RequestId, fb.Rating)
			if fb.Comment != nil {
				fmt.Fprintf(c.stdout, ": %q", *fb.Comment)
			}
			_, err = fmt.Fprintln(c.stdout)
			return err
		},
	}
	f.add(cmd)
	cmd.Flags().StringVar(&comment, "comment", "", "a comment (at most 2000 characters)")
	return cmd
}
