package openaicompat

import (
	"context"
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
