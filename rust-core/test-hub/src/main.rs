//! Serves checkpoint directories as hub repositories on loopback, for the
//! apps' end-to-end download tests:
//!
//!   imp-test-hub OWNER/NAME=DIR [OWNER/NAME=DIR ...]
//!
//! Prints the endpoint (`http://127.0.0.1:PORT`) on its first line, then runs
//! until its standard input closes.

use imp_test_hub::{HubServer, Repo};
use std::io::Read;

fn main() {
    let server = HubServer::start();
    for arg in std::env::args().skip(1) {
        let Some((id, dir)) = arg.split_once('=') else {
            eprintln!("imp-test-hub: {arg}: expected OWNER/NAME=DIR");
            std::process::exit(2);
        };
        match Repo::from_dir(std::path::Path::new(dir)) {
            Ok(repo) => server.add(id, repo),
            Err(e) => {
                eprintln!("imp-test-hub: {dir}: {e}");
                std::process::exit(2);
            }
        }
    }
    println!("{}", server.endpoint());
    let _ = std::io::stdin().read_to_end(&mut Vec::new());
}
