package policy

import (
	"context"

	"github.com/sluicegw/sluice/abi"
)

// MaskText runs one text value (a command before it is recorded, the
// command shown to a reviewer) through the chain's masking plugins, as a
// one-field record of column "command", so the store and an approval
// request never hold what the same plugins would mask in output: an
// e-mail or a token inside an INSERT, a password in a shell line. If the
// chain fails closed the whole text is redacted; err says why.
func MaskText(ctx context.Context, m *Masker, column, text string) (string, error) {
	if m == nil || !m.Active() {
		return text, nil
	}
	var t Table
	t.Columns = []string{column}
	t.AddRecord()
	t.AddField(0, abi.KindString, false, []byte(text))
	err := m.Mask(ctx, &t)
	v, null, _ := t.Field(0)
	if t.Dropped(0) || null {
		return "[REDACTED]", err
	}
	return string(v), err
}
