//! The small design system: layout, form fields, usage bars, the page loader, shared styles.

pub mod actions;
pub mod chart;
pub mod field;
pub mod layout;
pub mod loading;
pub mod style;

pub use actions::{copy_text, error_of, go_to, url_encode};
pub use field::{Field, FieldKind};
pub use layout::{Alert, PublicHeader, UsageBar, UsageSection};
pub use loading::{LoadStyle, PageLoader, login_path};
