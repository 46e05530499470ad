package slogloge

// JSON encoding of slog values into a byte slice. Written here rather than
// with encoding/json so that strings are not HTML-escaped, invalid UTF-8
// becomes U+FFFD instead of an error, and the common kinds allocate nothing.

import (
	"encoding"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"strconv"
	"time"
	"unicode/utf8"
)

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string literal.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// appendValue appends v, already resolved and not a group, as JSON.
func appendValue(b []byte, v slog.Value) []byte {
	switch v.Kind() {
	case slog.KindString:
		return appendString(b, v.String())
	case slog.KindInt64:
		return strconv.AppendInt(b, v.Int64(), 10)
	case slog.KindUint64:
		return strconv.AppendUint(b, v.Uint64(), 10)
	case slog.KindFloat64:
		f := v.Float64()
		// JSON has no NaN or infinities: send them as strings.
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return appendString(b, strconv.FormatFloat(f, 'g', -1, 64))
		}
		return strconv.AppendFloat(b, f, 'g', -1, 64)
	case slog.KindBool:
		return strconv.AppendBool(b, v.Bool())
	case slog.KindDuration:
		// "1.5s" reads better in a log line than slog.JSONHandler's nanoseconds.
		return appendString(b, v.Duration().String())
	case slog.KindTime:
		return appendString(b, v.Time().Format(time.RFC3339Nano))
	case slog.KindAny, slog.KindLogValuer:
		return appendAny(b, v.Any())
	}
	return appendString(b, v.String())
}

// appendAny encodes an arbitrary value: errors by their message, then
// json.Marshaler and encoding.TextMarshaler, then encoding/json, and fmt's
// %+v when encoding/json fails.
func appendAny(b []byte, a any) (out []byte) {
	// A Marshaler with a pointer receiver called on a nil pointer panics; the
	// log line must still be written, as slog's own handlers do.
	defer func() {
		if r := recover(); r != nil {
			out = appendString(b, fmt.Sprintf("!PANIC: %v", r))
		}
	}()
	switch x := a.(type) {
	case nil:
		return append(b, "null"...)
	case json.Marshaler:
		if out, err := x.MarshalJSON(); err == nil && json.Valid(out) {
			return append(b, out...)
		}
	case error:
		return appendString(b, x.Error())
	case encoding.TextMarshaler:
		if out, err := x.MarshalText(); err == nil {
			return appendString(b, string(out))
		}
	}
	if out, err := json.Marshal(a); err == nil {
		return append(b, out...)
	}
	return appendString(b, fmt.Sprintf("%+v", a))
}
