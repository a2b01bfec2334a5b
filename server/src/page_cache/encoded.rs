//! A kept page's compressed copies: made once per page and encoding, at the best ratio, off
//! the request path; and which one a request takes.

use std::io::Write;

use axum::body::Bytes;

/// The encodings a kept page is served in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    Brotli,
    Gzip,
}

impl Encoding {
    pub fn header_value(self) -> &'static str {
        match self {
            Encoding::Brotli => "br",
            Encoding::Gzip => "gzip",
        }
    }

    pub fn index(self) -> usize {
        self as usize
    }

    /// What a request's `Accept-Encoding` allows, brotli first; `None`: send it as it is.
    /// A coding with `q=0` is refused; `*` stands for any coding not named.
    pub fn chosen(accept: &str) -> Option<Encoding> {
        let mut brotli = None;
        let mut gzip = None;
        let mut any = None;
        for item in accept.split(',') {
            let mut parts = item.split(';');
            let name = parts.next().unwrap_or("").trim();
            let wanted = parts
                .filter_map(|p| {
                    let p = p.trim();
                    p.strip_prefix("q=").or_else(|| p.strip_prefix("Q="))
                })
                .map(|q| q.trim().parse::<f32>().is_ok_and(|q| q > 0.0))
                .next_back()
                .unwrap_or(true);
            if name.eq_ignore_ascii_case("br") {
                brotli = Some(wanted);
            } else if name.eq_ignore_ascii_case("gzip") || name.eq_ignore_ascii_case("x-gzip") {
                gzip = Some(wanted);
            } else if name == "*" {
                any = Some(wanted);
            }
        }
        if brotli.or(any) == Some(true) {
            Some(Encoding::Brotli)
        } else if gzip.or(any) == Some(true) {
            Some(Encoding::Gzip)
        } else {
            None
        }
    }
}

/// `body` compressed at the encoding's best: brotli quality 11 (about 40 ms for a 34 KB
/// booking page, once per kept page, on a blocking thread), gzip level 9. `None` only if
/// the encoder failed, which writing into memory does not.
pub fn compress(body: &[u8], encoding: Encoding) -> Option<Bytes> {
    match encoding {
        Encoding::Brotli => {
            let params = brotli::enc::BrotliEncoderParams {
                quality: 11,
                lgwin: 22,
                mode: brotli::enc::backward_references::BrotliEncoderMode::BROTLI_MODE_TEXT,
                size_hint: body.len(),
                ..Default::default()
            };
            let mut out = Vec::with_capacity(body.len() / 4 + 64);
            brotli::BrotliCompress(&mut &body[..], &mut out, &params).ok()?;
            Some(Bytes::from(out))
        }
        Encoding::Gzip => {
            let mut encoder =
                flate2::write::GzEncoder::new(Vec::with_capacity(body.len() / 3 + 64), flate2::Compression::best());
            encoder.write_all(body).ok()?;
            encoder.finish().ok().map(Bytes::from)
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    #[test]
    fn a_page_compresses_and_decodes_to_itself() {
        let mut page = String::from("<!DOCTYPE html><html><body><ul>");
        for i in 0..500 {
            page.push_str(&format!(
                "<li><a href=\"/ada/intro?at=2026-12-{:02}T{:02}:00\">{i}</a></li>",
                i % 28 + 1,
                i % 24
            ));
        }
        page.push_str("</ul></body></html>");
        for encoding in [Encoding::Brotli, Encoding::Gzip] {
            let body = compress(page.as_bytes(), encoding).expect("compressed");
            let mut text = String::new();
            match encoding {
                Encoding::Brotli => brotli::Decompressor::new(&body[..], 4096).read_to_string(&mut text),
                Encoding::Gzip => flate2::read::GzDecoder::new(&body[..]).read_to_string(&mut text),
            }
            .expect("a valid stream");
            assert_eq!(text, page);
            assert!(body.len() * 5 < page.len(), "{encoding:?}: {} bytes for {}", body.len(), page.len());
        }
    }

    #[test]
    fn the_encoding_follows_accept_encoding() {
        assert_eq!(Encoding::chosen("gzip, deflate, br, zstd"), Some(Encoding::Brotli));
        assert_eq!(Encoding::chosen("gzip, deflate"), Some(Encoding::Gzip));
        assert_eq!(Encoding::chosen("br;q=0, gzip;q=0.5"), Some(Encoding::Gzip));
        assert_eq!(Encoding::chosen("BR ; Q=1"), Some(Encoding::Brotli));
        assert_eq!(Encoding::chosen("*"), Some(Encoding::Brotli));
        assert_eq!(Encoding::chosen("br;q=0, *"), Some(Encoding::Gzip));
        assert_eq!(Encoding::chosen("*;q=0"), None);
        assert_eq!(Encoding::chosen("identity"), None);
        assert_eq!(Encoding::chosen("deflate, zstd"), None);
        assert_eq!(Encoding::chosen(""), None);
        assert_eq!(Encoding::chosen("br;q=nonsense, gzip"), Some(Encoding::Gzip));
    }
}
