//! Generated incidents with a known answer (filled in once the generator lands).
