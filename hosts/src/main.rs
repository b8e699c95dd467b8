//! The `triggerx` command.

fn main() {
    println!("triggerx {}", env!("CARGO_PKG_VERSION"));
}
