package jsonscan

import "io"

// Decoder reads a JSON text token by token, as encoding/json's Decoder does
// over a byte slice (with UseNumber): the filter parser (SPEC §4.4) reads
// its grammar this way so that the tree follows the written key order and
// a problem is found where it is written, and decodes a member's value
// whole with Value. The token rules, and the messages of the syntax errors
// found between values, are json.Decoder's.
type Decoder struct {
	b     []byte
	i     int
	state tokenState
	stack []tokenState
}

// Delim is one of the four delimiters [ ] { } as a token.
type Delim byte

type tokenState uint8

// The token states of json.Decoder: what may come next.
const (
	topValue tokenState = iota
	arrayStart
	arrayValue
	arrayComma
	objectStart
	objectKey
	objectColon
	objectValue
	objectComma
)

// NewDecoder returns a Decoder reading b.
func NewDecoder(b []byte) *Decoder { return &Decoder{b: b} }

// Offset is the offset in the input of the next byte to read, as
// json.Decoder's InputOffset.
func (d *Decoder) Offset() int { return d.i }

// More reports whether the current array or object has another element.
func (d *Decoder) More() bool {
	c, ok := d.peek()
	return ok && c != ']' && c != '}'
}

// Token returns the next token: a Delim, a string (an object key or a
// value), json.Number, bool or nil (null). Commas and colons are checked
// and skipped. At the end of the input it returns io.EOF.
func (d *Decoder) Token() (any, error) {
	for {
		c, ok := d.peek()
		if !ok {
			return nil, io.EOF
		}
		switch c {
		case '[', '{':
			if !d.valueAllowed() {
				return nil, d.tokenError(c)
			}
			d.i++
			d.stack = append(d.stack, d.state)
			if d.state = arrayStart; c == '{' {
				d.state = objectStart
			}
			return Delim(c), nil
		case ']', '}':
			open, comma := arrayStart, arrayComma
			if c == '}' {
				open, comma = objectStart, objectComma
			}
			if d.state != open && d.state != comma {
				return nil, d.tokenError(c)
			}
			d.i++
			d.state = d.stack[len(d.stack)-1]
			d.stack = d.stack[:len(d.stack)-1]
			d.valueEnd()
			return Delim(c), nil
		case ':':
			if d.state != objectColon {
				return nil, d.tokenError(c)
			}
			d.i++
			d.state = objectValue
			continue
		case ',':
			switch d.state {
			case arrayComma:
				d.state = arrayValue
			case objectComma:
				d.state = objectKey
			default:
				return nil, d.tokenError(c)
			}
			d.i++
			continue
		case '"':
			if d.state == objectStart || d.state == objectKey {
				p := parser{b: d.b}
				s, end, err := p.str(d.i)
				if err != nil {
					return nil, streamError(err)
				}
				d.i = end
				d.state = objectColon
				return s, nil
			}
		}
		if !d.valueAllowed() {
			return nil, d.tokenError(c)
		}
		return d.Value()
	}
}

// Value decodes the next value whole, as Decode does (json.Decoder's
// Decode into an `any`). Input that ends inside the value is
// io.ErrUnexpectedEOF.
func (d *Decoder) Value() (any, error) {
	switch d.state {
	case arrayComma, objectColon:
		want, next, msg := byte(','), arrayValue, "expected comma after array element"
		if d.state == objectColon {
			want, next, msg = ':', objectValue, "expected colon after object key"
		}
		c, ok := d.peek()
		if !ok {
			return nil, io.EOF
		}
		if c != want {
			return nil, &SyntaxError{Msg: msg, Offset: d.i}
		}
		d.i++
		d.state = next
	}
	if !d.valueAllowed() {
		return nil, &SyntaxError{Msg: "not at beginning of value", Offset: d.i}
	}
	if _, ok := d.peek(); !ok {
		return nil, io.EOF
	}
	p := parser{b: d.b}
	v, end, err := p.value(d.i)
	if err != nil {
		return nil, streamError(err)
	}
	d.i = end
	d.valueEnd()
	return v, nil
}

// streamError is a value's syntax error as json.Decoder reports it.
func streamError(err *SyntaxError) error {
	if err.eof {
		return io.ErrUnexpectedEOF
	}
	return err
}

// peek skips whitespace and returns the next byte, or false at the end.
func (d *Decoder) peek() (byte, bool) {
	d.i = SkipWS(d.b, d.i)
	if d.i >= len(d.b) {
		return 0, false
	}
	return d.b[d.i], true
}

func (d *Decoder) valueAllowed() bool {
	switch d.state {
	case topValue, arrayStart, arrayValue, objectValue:
		return true
	}
	return false
}

func (d *Decoder) valueEnd() {
	switch d.state {
	case arrayStart, arrayValue:
		d.state = arrayComma
	case objectValue:
		d.state = objectComma
	}
}

func (d *Decoder) tokenError(c byte) error {
	var context string
	switch d.state {
	case topValue, arrayStart, arrayValue, objectValue:
		context = " looking for beginning of value"
	case arrayComma:
		context = " after array element"
	case objectKey:
		context = " looking for beginning of object key string"
	case objectColon:
		context = " after object key"
	case objectComma:
		context = " after object key:value pair"
	}
	return &SyntaxError{Msg: "invalid character " + quoteChar(c) + context, Offset: d.i}
}
