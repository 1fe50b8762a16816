//! `fd.cip.name`, `fd.sip.name`, `fd.lip.name`, `fd.rip.name` as libsinsp's DNS manager gives
//! them: Falco resolves the domain names that conditions compare these fields with (and only
//! those), and an address has a name when it is among a resolved name's addresses; any other
//! address has none (`<NA>`). So `fd.sip.name = kubernetes.default.svc.cluster.local` matches a
//! connection to an address that name resolves to, without looking at DNS traffic.
//!
//! The daemon hands the names of the loaded rules to [`watch`] (at every load and reload); a
//! background thread resolves them with the host's resolver at once and every
//! [`REFRESH`] (addresses of a name change). Until the first resolution finishes, no address
//! has a name. [`resolve`] does the same synchronously (tests, replays).

use std::collections::{BTreeSet, HashMap};
use std::net::{IpAddr, ToSocketAddrs};
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::sync::{Mutex, OnceLock, PoisonError, RwLock};
use std::time::Duration;

/// How often the names are resolved again.
pub const REFRESH: Duration = Duration::from_secs(60);

/// Address → the watched names that resolve to it.
fn table() -> &'static RwLock<HashMap<IpAddr, Vec<String>>> {
    static TABLE: OnceLock<RwLock<HashMap<IpAddr, Vec<String>>>> = OnceLock::new();
    TABLE.get_or_init(RwLock::default)
}

/// Resolve every name now (blocking) and make the result the table.
pub fn resolve(domains: &BTreeSet<String>) {
    let mut by_ip: HashMap<IpAddr, Vec<String>> = HashMap::new();
    for name in domains {
        let Ok(addrs) = (name.as_str(), 0).to_socket_addrs() else { continue };
        for a in addrs {
            let names = by_ip.entry(a.ip()).or_default();
            if !names.contains(name) {
                names.push(name.clone());
            }
        }
    }
    *table().write().unwrap_or_else(PoisonError::into_inner) = by_ip;
}

/// Watch `domains` from now on (replacing the previous set): resolved in the background at
/// once and every [`REFRESH`]. No thread is started while no rule compares names; an error
/// means the resolver thread could not be started (the names then stay `<NA>`).
pub fn watch(domains: BTreeSet<String>) -> std::io::Result<()> {
    static WATCHER: OnceLock<Mutex<Sender<BTreeSet<String>>>> = OnceLock::new();
    if domains.is_empty() && WATCHER.get().is_none() {
        return Ok(());
    }
    let tx = match WATCHER.get() {
        Some(tx) => tx,
        None => {
            let (tx, rx) = mpsc::channel::<BTreeSet<String>>();
            std::thread::Builder::new().name("palisade-dns".into()).spawn(move || {
                let mut current = BTreeSet::new();
                loop {
                    match rx.recv_timeout(REFRESH) {
                        Ok(next) => current = next,
                        Err(RecvTimeoutError::Timeout) => {}
                        Err(RecvTimeoutError::Disconnected) => return,
                    }
                    resolve(&current);
                }
            })?;
            WATCHER.get_or_init(|| Mutex::new(tx))
        }
    };
    let _ = tx.lock().unwrap_or_else(PoisonError::into_inner).send(domains);
    Ok(())
}

/// The watched names `ip` is an address of (none: `<NA>`).
pub fn names_of(ip: IpAddr) -> Vec<String> {
    table().read().unwrap_or_else(PoisonError::into_inner).get(&ip).cloned().unwrap_or_default()
}
