// Command rawecho is the floor: a Go server on a Unix socket with no
// protocol at all. It accepts on the listener passed as fd 3. A connection's
// first byte chooses: 'E' echoes every byte back; 'F' reads a decimal count
// and a newline, writes that many record lines and then "done".
package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
)

func main() {
	ln, err := net.FileListener(os.NewFile(3, "listener"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "rawecho:", err)
		os.Exit(1)
	}
	for {
		c, err := ln.Accept()
		if err != nil {
			fmt.Fprintln(os.Stderr, "rawecho:", err)
			os.Exit(1)
		}
		go serve(c)
	}
}

func serve(c net.Conn) {
	defer c.Close()
	r := bufio.NewReader(c)
	mode, err := r.ReadByte()
	if err != nil {
		return
	}
	switch mode {
	case 'E':
		echo(r, c)
	case 'F':
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		n, err := strconv.Atoi(strings.TrimSpace(line))
		if err != nil {
			return
		}
		flood(c, n)
	}
}

// echo writes back what it reads, one read and one write at a time, as a
// hand-written server would (no splice).
func echo(r io.Reader, w io.Writer) {
	buf := make([]byte, 64<<10)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// flood writes n lines shaped like the records plugvisor's flood sends
// (data_type, seq, task), through a 64 KiB buffer.
func flood(c io.Writer, n int) {
	w := bufio.NewWriterSize(c, 64<<10)
	var b []byte
	for i := 1; i <= n; i++ {
		b = append(b[:0], "flood\t"...)
		b = strconv.AppendInt(b, int64(i), 10)
		b = append(b, "\t0123abcd-42\n"...)
		if _, err := w.Write(b); err != nil {
			return
		}
	}
	_, _ = w.WriteString("done\n")
	_ = w.Flush()
}
