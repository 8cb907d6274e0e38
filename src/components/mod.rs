//! The small design system: layout, form fields, usage bars.

pub mod actions;
pub mod field;
pub mod layout;

pub use actions::{copy_text, error_of, go_to};
pub use field::{Field, FieldKind};
pub use layout::{Alert, PublicHeader, UsageBar, UsageSection};
