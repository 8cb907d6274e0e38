pub mod guard;
pub mod password;
pub mod session;

pub use guard::TenantCtx;
pub use session::{SessionAuth, TypedSession};
