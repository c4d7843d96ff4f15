//! A one-line text input: the audit filter, the tenant value, the typed confirmation.

/// Text typed by the technician, edited at its end.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Input {
    /// The text so far.
    pub text: String,
}

impl Input {
    /// An input holding `text`.
    pub fn new(text: impl Into<String>) -> Input {
        Input { text: text.into() }
    }

    /// Adds a typed character; control characters are ignored.
    pub fn push(&mut self, c: char) {
        if !c.is_control() && self.text.chars().count() < 256 {
            self.text.push(c);
        }
    }

    /// Removes the last character.
    pub fn backspace(&mut self) {
        self.text.pop();
    }
}
