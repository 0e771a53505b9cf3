package openaicompat

import (
	"context"
	"io"
	"net/http"
)

// Reply is a 2xx answer read whole.
type Reply struct {
	Status int
	Header http.Header
	Body   []byte
}

// URL is path under the client's API root.
func (c *Client) URL(path string) string { return c.baseURL + path }

// Post sends payload as JSON to url (absolute: a provider may serve some
// of its API beside the OpenAI-compatible root) with key index key,
// accepting accept, and reads the 2xx answer, at most limit bytes. Error
// statuses, JSON error objects inside a 2xx answer, transport failures and
// oversized answers are classified and scrubbed as chat's are: every error
// is a *domain.ProviderError.
func (c *Client) Post(ctx context.Context, key int, url, accept string, payload any, limit int64) (Reply, error) {
	resp, err := c.doURL(ctx, key, http.MethodPost, url, accept, payload)
	if err != nil {
		return Reply{}, err
	}
	return c.reply(ctx, resp, limit)
}

// Upload is a request body that is not JSON: a multipart form with a file,
// say. Body is read once per request: an upload is built anew for each
// attempt.
type Upload struct {
	// ContentType is the body's media type, parameters included.
	ContentType string
	// Length is the body's size in bytes.
	Length int64
	Body   io.Reader
}

// PostUpload is Post for a body the caller encoded (upload), such as the
// multipart form of an audio transcription; its answer and errors are
// Post's.
func (c *Client) PostUpload(ctx context.Context, key int, url, accept string, upload Upload, limit int64) (Reply, error) {
	resp, err := c.send(ctx, key, http.MethodPost, url, accept, upload.ContentType, upload.Body, upload.Length)
	if err != nil {
		return Reply{}, err
	}
	return c.reply(ctx, resp, limit)
}

// reply reads a 2xx answer of at most limit bytes; a JSON error object in
// it is classified as an error status would be.
func (c *Client) reply(ctx context.Context, resp *http.Response, limit int64) (Reply, error) {
	defer resp.Body.Close()
	body, perr := readBody(ctx, resp, limit)
	if perr != nil {
		return Reply{}, c.finish(perr)
	}
	if isJSON(resp.Header) && hasErrorObject(body) {
		return Reply{}, c.classify(resp.StatusCode, resp.Header, body)
	}
	return Reply{Status: resp.StatusCode, Header: resp.Header, Body: body}, nil
}
