package spill

import "iter"

// Rows is a spill file of opaque rows read back in the order they were
// written: a sorted run of a Sorter, or any sequence an operator sets
// aside (the last rows of a tail). s2-compressed like every spill file.
type Rows struct {
	d    *Dir
	name string
	s    stream
}

// WriteRows writes rows to a new spill file whose name starts with
// prefix. After an error the file is gone.
func (d *Dir) WriteRows(prefix string, rows iter.Seq[[]byte]) (*Rows, error) {
	w, err := newWriter(d, prefix, 1)
	if err != nil {
		return nil, err
	}
	for row := range rows {
		if err = w.addRow(row); err != nil {
			w.abort()
			return nil, err
		}
	}
	if err := w.close(); err != nil {
		return nil, err
	}
	return &Rows{d: d, name: w.f.Name(), s: w.streams[0]}, nil
}

// Len is the number of rows.
func (r *Rows) Len() int64 { return r.s.n }

// Each calls fn with every row in order. A row is valid only during its
// call; reading holds about readerMem.
func (r *Rows) Each(fn func(row []byte) error) error {
	rd, err := r.open()
	if err != nil {
		return err
	}
	for {
		row, ok := rd.nextRow()
		if !ok {
			break
		}
		if err := fn(row); err != nil {
			rd.close()
			return err
		}
	}
	if rd.err != nil {
		rd.close()
		return rd.err
	}
	return rd.close()
}

func (r *Rows) open() (*reader, error) { return openStream(r.d, r.name, &r.s) }

// Remove deletes the file; a file already gone is not an error.
func (r *Rows) Remove() error {
	if err := r.d.fs.Remove(r.name); err != nil && !isNotExist(err) {
		return newError("remove spill file", r.d.path, err)
	}
	return nil
}
