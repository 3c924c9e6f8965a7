//! Which keys verify bearer tokens, from the configuration: `JWT_SECRET`
//! (HS256), `JWT_PUBLIC_KEY_FILE` (RS256), or for an embedded setup a
//! development secret generated once and kept beside the SQLite database.

use std::io::Write;
use std::path::{Path, PathBuf};

use evgate_api::jwt::JwtKeys;
use rand::RngCore;

use crate::config::{Config, ConfigError};

/// Where the keys came from, for the start-up log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// `JWT_SECRET`.
    Secret,
    /// `JWT_PUBLIC_KEY_FILE`.
    PublicKeyFile(PathBuf),
    /// Generated for an embedded setup; the path says where it is kept.
    DevelopmentSecret {
        /// Beside the SQLite file.
        path: PathBuf,
        /// Whether this start created it.
        created: bool,
    },
}

/// The keys the configuration names; generates the development secret
/// when an embedded setup has none.
pub fn jwt_keys(config: &Config) -> Result<(JwtKeys, KeySource), ConfigError> {
    if let Some(secret) = &config.jwt_secret {
        return Ok((JwtKeys::hs256(secret.as_bytes()), KeySource::Secret));
    }
    if let Some(path) = &config.jwt_public_key_file {
        let pem = std::fs::read(path).map_err(|e| {
            ConfigError::new(
                "JWT_PUBLIC_KEY_FILE",
                format!("cannot read {}: {e}", path.display()),
            )
        })?;
        let keys = JwtKeys::rs256_public_pem(&pem).map_err(|e| {
            ConfigError::new(
                "JWT_PUBLIC_KEY_FILE",
                format!("not an RSA public key in PEM: {e}"),
            )
        })?;
        return Ok((keys, KeySource::PublicKeyFile(path.clone())));
    }
    let Some(path) = dev_secret_path(&config.database_url) else {
        return Err(ConfigError::new(
            "JWT_SECRET",
            "is required unless DATABASE_URL names a SQLite file (instances must share it)",
        ));
    };
    let (secret, created) = load_or_create_secret(&path)
        .map_err(|e| ConfigError::new("JWT_SECRET", format!("no secret given and {e}")))?;
    Ok((
        JwtKeys::hs256(secret.as_bytes()),
        KeySource::DevelopmentSecret { path, created },
    ))
}

/// `sqlite://dir/evgate.db?mode=rwc` → `dir/evgate.db.jwt-secret`; `None` for
/// PostgreSQL (a cluster must share a configured secret) and in-memory SQLite.
pub fn dev_secret_path(database_url: &str) -> Option<PathBuf> {
    let mut path = sqlite_file(database_url)?.into_os_string();
    path.push(".jwt-secret");
    Some(PathBuf::from(path))
}

/// The database file a `sqlite://` URL names; `None` for PostgreSQL and
/// in-memory SQLite.
pub fn sqlite_file(database_url: &str) -> Option<PathBuf> {
    let rest = database_url.strip_prefix("sqlite:")?;
    let rest = rest.strip_prefix("//").unwrap_or(rest);
    let file = rest.split('?').next().unwrap_or(rest);
    if file.is_empty() || file == ":memory:" {
        return None;
    }
    Some(PathBuf::from(file))
}

/// Reads the secret, or creates it (0600) if absent. `create_new` makes
/// concurrent first starts agree: whoever loses the race reads the winner's.
fn load_or_create_secret(path: &Path) -> Result<(String, bool), String> {
    let read = |path: &Path| -> Result<String, String> {
        let s = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let s = s.trim().to_owned();
        if s.len() < 32 {
            return Err(format!("{} holds no usable secret", path.display()));
        }
        Ok(s)
    };
    if path.exists() {
        return read(path).map(|s| (s, false));
    }
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let secret: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    match options.open(path) {
        Ok(mut f) => {
            f.write_all(secret.as_bytes())
                .and_then(|_| f.sync_all())
                .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            Ok((secret, true))
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => read(path).map(|s| (s, false)),
        Err(e) => Err(format!("cannot create {}: {e}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dev_secret_lives_beside_the_database() {
        assert_eq!(
            dev_secret_path("sqlite://evgate.db"),
            Some(PathBuf::from("evgate.db.jwt-secret"))
        );
        assert_eq!(
            dev_secret_path("sqlite:///var/lib/evgate/e.db?mode=rwc"),
            Some(PathBuf::from("/var/lib/evgate/e.db.jwt-secret"))
        );
        assert_eq!(dev_secret_path("sqlite::memory:"), None);
        assert_eq!(dev_secret_path("postgres://x/y"), None);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("e.db.jwt-secret");
        let (a, created) = load_or_create_secret(&path).unwrap();
        assert!(created);
        let (b, created) = load_or_create_secret(&path).unwrap();
        assert!(!created);
        assert_eq!(a, b);
    }
}
