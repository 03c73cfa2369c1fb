package main

import (
	"strconv"
	"strings"
	"time"
)

// kind selects the notice: Postfix's failure, delay, success (DSN NOTIFY=SUCCESS) or
// verify (sendmail -v delivery report) template.
type kind int

const (
	failure kind = iota
	delay
	success
	verify
)

// undelivered tells whether the notice is about mail not delivered (yet): Postfix says
// "Undelivered Message" only then, and returns the whole message only for failures.
func (k kind) undelivered() bool { return k == failure || k == delay }

// template is one of Postfix's built-in bounce templates (bounce(5), postconf -b); users and
// MUAs match on this wording, so it is Postfix's, word for word.
type template struct {
	subject, postmasterSubject string
	body                       []string
}

var templates = map[kind]template{
	failure: {
		subject:           "Undelivered Mail Returned to Sender",
		postmasterSubject: "Postmaster Copy: Undelivered Mail",
		body: []string{
			"This is the mail system at host $myhostname.",
			"",
			"I'm sorry to have to inform you that your message could not",
			"be delivered to one or more recipients. It's attached below.",
			"",
			"For further assistance, please send mail to postmaster.",
			"",
			"If you do so, please include this problem report. You can",
			"delete your own text from the attached returned message.",
			"",
			"                   The mail system",
		},
	},
	delay: {
		subject:           "Delayed Mail (still being retried)",
		postmasterSubject: "Postmaster Warning: Delayed Mail",
		body: []string{
			"This is the mail system at host $myhostname.",
			"",
			"####################################################################",
			"# THIS IS A WARNING ONLY.  YOU DO NOT NEED TO RESEND YOUR MESSAGE. #",
			"####################################################################",
			"",
			"Your message could not be delivered for more than $delay_warning_time_hours hour(s).",
			"It will be retried until it is $maximal_queue_lifetime_days day(s) old.",
			"",
			"For further assistance, please send mail to postmaster.",
			"",
			"If you do so, please include this problem report. You can",
			"delete your own text from the attached returned message.",
			"",
			"                   The mail system",
		},
	},
	success: {
		subject: "Successful Mail Delivery Report",
		body: []string{
			"This is the mail system at host $myhostname.",
			"",
			"Your message was successfully delivered to the destination(s)",
			"listed below. If the message was delivered to mailbox you will",
			"receive no further notifications. Otherwise you may still receive",
			"notifications of mail delivery errors from other systems.",
			"",
			"                   The mail system",
		},
	},
	verify: {
		subject: "Mail Delivery Status Report",
		body: []string{
			"This is the mail system at host $myhostname.",
			"",
			"Enclosed is the mail delivery report that you requested.",
			"",
			"                   The mail system",
		},
	},
}

// expandBody fills in the template's $names.
func expandBody(lines []string, hostname string, warnTime, lifetime time.Duration) []string {
	r := strings.NewReplacer(
		"$myhostname", hostname,
		"$delay_warning_time_hours", strconv.FormatInt(int64(warnTime/time.Hour), 10),
		"$maximal_queue_lifetime_days", strconv.FormatInt(int64(lifetime/(24*time.Hour)), 10),
	)
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = r.Replace(l)
	}
	return out
}
