//! A tar archive (POSIX ustar) written in memory: the account export is one file any
//! system opens (`tar -xf`, every archive tool), without a compression dependency.

/// Builds an archive of regular files.
#[derive(Debug, Default)]
pub struct Tar {
    bytes: Vec<u8>,
}

const BLOCK: usize = 512;

impl Tar {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a file. Names are cut to 100 bytes of ASCII letters, digits and `._-/` (others
    /// become `_`), so no name can escape the folder it is unpacked in.
    pub fn add(&mut self, name: &str, contents: &[u8], modified_secs: i64) {
        let name = safe_name(name);
        let mut header = [0u8; BLOCK];
        header[..name.len()].copy_from_slice(name.as_bytes());
        write_octal(&mut header[100..108], 0o644);
        write_octal(&mut header[108..116], 0);
        write_octal(&mut header[116..124], 0);
        write_octal(&mut header[124..136], contents.len() as u64);
        write_octal(&mut header[136..148], u64::try_from(modified_secs.max(0)).unwrap_or(0));
        header[156] = b'0';
        header[257..263].copy_from_slice(b"ustar\0");
        header[263..265].copy_from_slice(b"00");
        // The checksum is computed with its own field as spaces.
        header[148..156].copy_from_slice(b"        ");
        let sum: u64 = header.iter().map(|&b| u64::from(b)).sum();
        let text = format!("{sum:06o}\0 ");
        header[148..156].copy_from_slice(text.as_bytes());
        self.bytes.extend_from_slice(&header);
        self.bytes.extend_from_slice(contents);
        let pad = (BLOCK - contents.len() % BLOCK) % BLOCK;
        self.bytes.extend(std::iter::repeat_n(0u8, pad));
    }

    /// The archive, closed with its two empty blocks.
    pub fn finish(mut self) -> Vec<u8> {
        self.bytes.extend(std::iter::repeat_n(0u8, 2 * BLOCK));
        self.bytes
    }
}

fn safe_name(name: &str) -> String {
    let cleaned: String = name
        .trim_start_matches('/')
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '/') { c } else { '_' })
        .collect();
    let cleaned = cleaned
        .split('/')
        .filter(|part| !part.is_empty() && *part != "." && *part != "..")
        .collect::<Vec<_>>()
        .join("/");
    let cleaned = if cleaned.is_empty() { "file".to_owned() } else { cleaned };
    cleaned.chars().take(99).collect()
}

fn write_octal(field: &mut [u8], value: u64) {
    let width = field.len() - 1;
    let text = format!("{value:0width$o}");
    let text = &text.as_bytes()[text.len().saturating_sub(width)..];
    field[..width].copy_from_slice(text);
    field[width] = 0;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_block_aligned_with_valid_headers() {
        let mut tar = Tar::new();
        tar.add("account.json", b"{\"a\":1}", 1_700_000_000);
        tar.add("calendars/Work.ics", &[b'x'; 600], 0);
        let bytes = tar.finish();
        assert_eq!(bytes.len() % BLOCK, 0);
        // header + 1 block, header + 2 blocks, 2 end blocks
        assert_eq!(bytes.len(), BLOCK * (2 + 3 + 2));
        assert_eq!(&bytes[..12], b"account.json");
        assert_eq!(&bytes[257..262], b"ustar");
        let stored: u64 = u64::from_str_radix(std::str::from_utf8(&bytes[148..154]).expect("ascii"), 8).expect("octal");
        let mut header = bytes[..BLOCK].to_vec();
        header[148..156].copy_from_slice(b"        ");
        assert_eq!(stored, header.iter().map(|&b| u64::from(b)).sum::<u64>());
        assert_eq!(&bytes[124..135], b"00000000007");
    }

    #[test]
    fn names_cannot_escape_the_folder() {
        assert_eq!(safe_name("../../etc/passwd"), "etc/passwd");
        assert_eq!(safe_name("/abs/Ünïcode name.ics"), "abs/_n_code_name.ics");
        assert_eq!(safe_name(""), "file");
        assert_eq!(safe_name(&"a".repeat(300)).len(), 99);
    }
}
