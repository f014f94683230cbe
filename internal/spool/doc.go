// Package spool is the bounded store where the fleet link keeps the records
// it could not yet publish: the server is unreachable, or the publish window
// is full. An item is an opaque, already-encoded message and the sequence
// number the spool gave it, in push order, so the caller can make message
// ids from it.
//
// Items enter memory; when memory would pass its budget, its oldest items
// move to the tail of an optional file, so the file always holds older
// items than memory and reading the file, then memory, gives push order.
//
// When neither tier has room, the new item is dropped and counted
// (drop-newest). The spool keeps the oldest unsent items: what was emitted
// first is sent first, and what reaches the fleet is an unbroken prefix of
// the stream followed by a counted gap, never a stream with holes punched
// into its past. Dropping the oldest instead would make a long outage cost
// every record ever spooled, and a file already written would have to be
// rewritten from its head.
//
// A reader keeps a window in flight with Next, from a cursor, and removes
// what the server acknowledged with Ack, a prefix; after a disconnect it
// reads again from the last acknowledged sequence and gets the same items
// with the same sequence numbers.
//
// # The file
//
// The file is a header and then records, appended and never rewritten:
//
//	header  magic "pvspool\x00" | version u32 | reserved u32 |
//	        acked seq u64 | crc32c(acked seq) u32 | reserved u32
//	record  length u32 | crc32c(length, seq, data) u32 | seq u64 | data
//
// (little-endian). Acknowledging items in the file rewrites only the acked
// sequence in the header; the file is cut back to its header once all its
// items are acknowledged, and only then is the space of acknowledged
// records reused. Records are written without fsync: a crash of the
// process loses nothing that was written, and a power loss leaves at worst
// a torn tail, which the next Open finds by its length and checksum and
// cuts, counting the bytes. A torn acked sequence reads as zero: items are
// sent again, never lost. On Open the unacknowledged records come back in
// order, with their sequence numbers, before anything pushed after.
package spool
