pub mod cache;
pub mod guard;
pub mod password;
pub mod session;
pub mod tx;

pub use guard::TenantCtx;
pub use session::{SessionAuth, TypedSession};
pub use tx::{HasPool, end_read, tenant_tx};
