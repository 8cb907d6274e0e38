//! The small design system: layout, form fields, usage bars.

pub mod field;
pub mod layout;

pub use field::{Field, FieldKind};
pub use layout::{Alert, PublicHeader, UsageBar, UsageSection};
