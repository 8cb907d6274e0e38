//! The class strings the pages share (Tailwind sees them here: `style/tailwind.css` scans
//! `src/`). One place to change how a button, an input or a card looks.

/// The main action: an emerald button.
pub const BUTTON: &str = "rounded bg-emerald-700 px-3 py-2 text-sm font-medium text-white hover:bg-emerald-800 disabled:opacity-50";
/// A secondary action: an outlined button.
pub const BUTTON_SECONDARY: &str =
    "rounded border border-stone-300 px-3 py-2 text-sm hover:bg-stone-100 disabled:opacity-50";
/// A destructive action (suspend, purge).
pub const BUTTON_DANGER: &str =
    "rounded bg-red-700 px-3 py-2 text-sm font-medium text-white hover:bg-red-800";
/// A full-width text input, select or textarea.
pub const INPUT: &str = "w-full rounded border border-stone-300 px-3 py-2";
/// A white panel.
pub const CARD: &str = "rounded-lg border border-stone-200 bg-white p-5";
