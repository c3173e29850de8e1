//! Write [sluice](../../README.md) WebAssembly policy plugins in Rust.
//!
//! A plugin is a type implementing [`Plugin`], registered with the
//! [`plugin!`] macro, built for `wasm32-unknown-unknown` as a `cdylib`. The
//! crate implements [ABI v1](../../../abi/ABI.md): it owns the arena, parses
//! the host's batches and commands into safe views, writes edits and
//! verdicts, and emits the exports the host calls. It uses `core`, `alloc`
//! and `std` only (no crates), and builds with rustc 1.63 (Debian bookworm).
//!
//! ```ignore
//! use sluice::{Batch, Edits, Error, Plugin};
//!
//! struct Mask;
//!
//! impl Plugin for Mask {
//!     fn init(_config: &[u8]) -> Result<Self, Error> { Ok(Mask) }
//!     fn records(&mut self, b: &mut Batch, e: &mut Edits) -> Result<(), Error> {
//!         for f in b.fields() {
//!             if !f.null && b.value(&f).starts_with(b"secret:") {
//!                 e.replace(&f, b"[hidden]");
//!             }
//!         }
//!         Ok(())
//!     }
//! }
//!
//! sluice::plugin!(Mask: records);
//! ```
//!
//! Everything a hook is handed (batch, command, config, names, values)
//! borrows the arena and is valid only during the call: copy what you keep.
//! Hooks must be repeatable for the same input (the host calls again with a
//! larger arena when the output did not fit).

#![warn(missing_docs)]

mod batch;
mod command;
mod edits;
pub mod json;
mod log;
#[doc(hidden)]
pub mod rt;
#[cfg(test)]
mod tests;

pub use batch::{Batch, Column, ColumnType, Field, Fields, Finding, Findings, Kind, Record};
pub use command::{Command, CommandKind, Fact, Facts};
pub use edits::Edits;
pub use log::{debug, error, info, log, warn, Level};

use std::borrow::Cow;
use std::fmt;

/// The ABI version this crate implements (`sluice_abi_v1`).
pub const ABI_VERSION: u32 = 1;

/// An error a hook returns: the host gets it as the FAILED status's message
/// (init: the plugin does not load; records: the fail mode applies to the
/// batch; selftest: logged, the previous version keeps serving).
#[derive(Clone, PartialEq, Eq)]
pub struct Error(Cow<'static, str>);

impl Error {
    /// An error with a message. A `&'static str` costs no allocation.
    pub fn new(msg: impl Into<Cow<'static, str>>) -> Error {
        Error(msg.into())
    }
    /// The message.
    pub fn message(&self) -> &str {
        &self.0
    }
}

impl From<&'static str> for Error {
    fn from(s: &'static str) -> Error {
        Error(Cow::Borrowed(s))
    }
}

impl From<String> for Error {
    fn from(s: String) -> Error {
        Error(Cow::Owned(s))
    }
}

impl From<json::JsonError> for Error {
    fn from(e: json::JsonError) -> Error {
        Error(Cow::Owned(e.message()))
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A command decision (ABI.md 3.2). In a chain the first BLOCK wins;
/// otherwise any REQUIRE_APPROVAL wins; otherwise ALLOW.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Let the command through (as far as this plugin is concerned).
    Allow = 0,
    /// Refuse the command; the reason becomes the protocol's error message.
    Block = 1,
    /// Park the session until a reviewer decides; the reason is shown to them.
    RequireApproval = 2,
}

/// A command hook's result: a [`Decision`] and a reason.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verdict {
    /// The decision.
    pub decision: Decision,
    /// Shown to the client (block) or the reviewer (approve). A
    /// `&'static str` costs no allocation.
    pub reason: Cow<'static, str>,
}

impl Verdict {
    /// ALLOW, without a reason.
    pub fn allow() -> Verdict {
        Verdict { decision: Decision::Allow, reason: Cow::Borrowed("") }
    }
    /// BLOCK with a reason.
    pub fn block(reason: impl Into<Cow<'static, str>>) -> Verdict {
        Verdict { decision: Decision::Block, reason: reason.into() }
    }
    /// REQUIRE_APPROVAL with a reason.
    pub fn approve(reason: impl Into<Cow<'static, str>>) -> Verdict {
        Verdict { decision: Decision::RequireApproval, reason: reason.into() }
    }
    /// Alias of [`Verdict::approve`].
    pub fn require_approval(reason: impl Into<Cow<'static, str>>) -> Verdict {
        Verdict::approve(reason)
    }
}

/// What the host does with a column (ABI.md 3.4), the plan hook's answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Send its fields to the records hook.
    Inspect = 0,
    /// Pass it unchanged; never sent.
    Ignore = 1,
    /// The host replaces every value with the manifest's redaction text.
    Redact = 2,
}

/// The hooks of a plugin. Implement `init` and the hooks your manifest
/// lists; the others have harmless defaults (allow, no edits, inspect, OK).
/// Register the type with [`plugin!`].
///
/// A wasm instance runs one call at a time, so hooks get `&mut self`.
pub trait Plugin: Sized + 'static {
    /// Builds the plugin from its config, a JSON object (`{}` when the
    /// operator gave none; see [`json`]), once per instance before any
    /// other hook. An error keeps the plugin from loading.
    fn init(config: &[u8]) -> Result<Self, Error>;

    /// Decides about one command. Default: allow.
    fn command(&mut self, _cmd: &Command<'_>) -> Verdict {
        Verdict::allow()
    }

    /// Inspects a batch and writes edits. Values may be overwritten in
    /// place through [`Batch::value_mut`] (then [`Edits::in_place`]) or
    /// [`Edits::mask`]. An error is a plugin failure: the host applies the
    /// fail mode to the whole batch. Default: no edits.
    fn records(&mut self, _batch: &mut Batch<'_>, _edits: &mut Edits<'_>) -> Result<(), Error> {
        Ok(())
    }

    /// Decides once per schema what the host does with a column. Default:
    /// inspect.
    fn plan(&mut self, _column: &Column<'_>) -> Action {
        Action::Inspect
    }

    /// Runs after every (re)load, after init, before the plugin serves
    /// traffic; an error is logged and keeps the previous version serving.
    fn selftest(&mut self) -> Result<(), Error> {
        Ok(())
    }
}

/// Emits the module's exports for a [`Plugin`] type.
///
/// `sluice::plugin!(MyPlugin);` exports every hook (`sluice_command`,
/// `sluice_records`, `sluice_plan`, `sluice_selftest`);
/// `sluice::plugin!(MyPlugin: command, selftest);` exports only the
/// listed ones, which keeps the module smaller; list the same hooks as the
/// manifest's `hooks`. `sluice_abi_v1`, `sluice_arena` and `sluice_init`
/// are always exported. Use it once, at the top level of the cdylib crate.
#[macro_export]
macro_rules! plugin {
    ($ty:ty) => {
        $crate::plugin!($ty: command, records, plan, selftest);
    };
    ($ty:ty : $($hook:ident),+ $(,)?) => {
        #[doc(hidden)]
        static mut __SLUICE_PLUGIN: ::core::option::Option<$ty> = ::core::option::Option::None;

        /// ABI marker (never called).
        #[no_mangle]
        pub extern "C" fn sluice_abi_v1() {}

        /// The arena (ABI.md 2.4).
        #[no_mangle]
        pub extern "C" fn sluice_arena(size: u32) -> u32 {
            $crate::rt::arena(size)
        }

        /// The config hook (ABI.md 3.1).
        #[no_mangle]
        pub extern "C" fn sluice_init(in_len: u32, out_off: u32) -> u32 {
            unsafe { $crate::rt::init::<$ty>(&mut __SLUICE_PLUGIN, in_len, out_off) }
        }

        $( $crate::plugin!(@hook $hook, $ty); )+
    };
    (@hook command, $ty:ty) => {
        /// The command hook (ABI.md 3.2).
        #[no_mangle]
        pub extern "C" fn sluice_command(in_len: u32, out_off: u32) -> u32 {
            unsafe { $crate::rt::command::<$ty>(&mut __SLUICE_PLUGIN, in_len, out_off) }
        }
    };
    (@hook records, $ty:ty) => {
        /// The records hook (ABI.md 3.3).
        #[no_mangle]
        pub extern "C" fn sluice_records(in_len: u32, out_off: u32) -> u32 {
            unsafe { $crate::rt::records::<$ty>(&mut __SLUICE_PLUGIN, in_len, out_off) }
        }
    };
    (@hook plan, $ty:ty) => {
        /// The plan hook (ABI.md 3.4).
        #[no_mangle]
        pub extern "C" fn sluice_plan(in_len: u32, out_off: u32) -> u32 {
            unsafe { $crate::rt::plan::<$ty>(&mut __SLUICE_PLUGIN, in_len, out_off) }
        }
    };
    (@hook selftest, $ty:ty) => {
        /// The selftest hook (ABI.md 3.5).
        #[no_mangle]
        pub extern "C" fn sluice_selftest() -> u32 {
            unsafe { $crate::rt::selftest::<$ty>(&mut __SLUICE_PLUGIN) }
        }
    };
}

/// Embeds a manifest file as the `sluice.manifest` custom section
/// (ABI.md 2.1), e.g. `sluice::manifest!("../manifest.json");` (the path is
/// relative to the source file, as for `include_bytes!`). Optional:
/// `build.sh` sets the section with `sluice plugin manifest set`, which
/// also validates it and replaces an embedded one.
#[macro_export]
macro_rules! manifest {
    ($path:expr) => {
        #[link_section = "sluice.manifest"]
        #[used]
        #[doc(hidden)]
        pub static __SLUICE_MANIFEST: [u8; include_bytes!($path).len()] = *include_bytes!($path);
    };
}

#[inline]
pub(crate) fn u32_at(b: &[u8], off: usize) -> u32 {
    let mut w = [0u8; 4];
    w.copy_from_slice(&b[off..off + 4]);
    u32::from_le_bytes(w)
}

#[inline]
pub(crate) fn put_u32(b: &mut [u8], off: usize, v: u32) {
    b[off..off + 4].copy_from_slice(&v.to_le_bytes());
}

/// Concatenates `parts` into a new string. With [`itoa`] it builds
/// messages without `format!`, whose `core::fmt` machinery costs a module
/// several KiB.
pub fn cat(parts: &[&str]) -> String {
    let mut s = String::with_capacity(parts.iter().map(|p| p.len()).sum());
    for p in parts {
        s.push_str(p);
    }
    s
}

/// The decimal text of `n`, without `core::fmt`.
pub fn itoa(n: usize) -> String {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    let mut n = n;
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    buf[i..].iter().map(|&b| b as char).collect()
}
