//! troth's domain and pure logic. No I/O: no files, no network, no database.
