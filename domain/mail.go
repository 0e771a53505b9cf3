package domain

// Mail is a plain-text message to one recipient.
type Mail struct {
	// To is a normalised email address.
	To      string
	Subject string
	Body    string
}
