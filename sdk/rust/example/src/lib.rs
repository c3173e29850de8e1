//! customer-id-mask in Rust: masks customer IDs of the form `CUST-` followed
//! by digits anywhere inside any value, in place (`order for CUST-004211`
//! becomes `order for CUST-******`), and allows every command. The same
//! plugin as sdk/wat/customer-id-mask.wat, on the sluice Rust SDK.

use sluice::{Batch, Edits, Error, Plugin};

/// The plugin. It has no config.
pub struct CustomerIdMask;

impl Plugin for CustomerIdMask {
    fn init(_config: &[u8]) -> Result<Self, Error> {
        Ok(CustomerIdMask)
    }

    // command: the default, allow every command.

    fn records(&mut self, b: &mut Batch<'_>, e: &mut Edits<'_>) -> Result<(), Error> {
        for f in b.fields() {
            if f.null {
                continue;
            }
            let v = b.value(&f);
            let mut i = 0;
            while i + 5 <= v.len() {
                if &v[i..i + 5] != b"CUST-" {
                    i += 1;
                    continue;
                }
                let start = i + 5;
                let mut j = start;
                while j < v.len() && v[j].is_ascii_digit() {
                    j += 1;
                }
                // an IN_PLACE edit: the digits become '*' in the batch
                // itself when the hook returns, no bytes are copied
                e.mask(&f, start, j - start, b'*');
                i = j;
            }
            if e.is_full() {
                return Ok(()); // the host grows the arena and calls again
            }
        }
        Ok(())
    }
}

sluice::plugin!(CustomerIdMask: command, records);
