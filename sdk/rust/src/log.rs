//! The host log (import `sluice_v1.log`, ABI.md 2.3).

/// A log level.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    /// 0
    Debug = 0,
    /// 1
    Info = 1,
    /// 2
    Warn = 2,
    /// 3
    Error = 3,
}

#[cfg(target_arch = "wasm32")]
mod imp {
    #[link(wasm_import_module = "sluice_v1")]
    extern "C" {
        fn log(level: i32, ptr: *const u8, len: i32);
    }
    pub fn write(level: i32, msg: &[u8]) {
        unsafe { log(level, msg.as_ptr(), msg.len() as i32) }
    }
}

#[cfg(not(target_arch = "wasm32"))]
mod imp {
    pub fn write(level: i32, msg: &[u8]) {
        eprintln!("sluice log {}: {}", level, String::from_utf8_lossy(msg));
    }
}

/// Writes one line to the host's log (rate-limited by the host). The
/// module imports `sluice_v1.log` only when a plugin calls a log function.
pub fn log(level: Level, msg: &str) {
    imp::write(level as i32, msg.as_bytes())
}

/// `log(Level::Debug, msg)`.
pub fn debug(msg: &str) {
    log(Level::Debug, msg)
}

/// `log(Level::Info, msg)`.
pub fn info(msg: &str) {
    log(Level::Info, msg)
}

/// `log(Level::Warn, msg)`.
pub fn warn(msg: &str) {
    log(Level::Warn, msg)
}

/// `log(Level::Error, msg)`.
pub fn error(msg: &str) {
    log(Level::Error, msg)
}
