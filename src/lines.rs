//! Line starts of a file, compact: the whole tree has 33 million lines,
//! and findings need line numbers for a few thousand spans. Kept as varint
//! deltas (a byte per line of up to 127 characters) with an absolute offset
//! every `STRIDE` lines, so a lookup decodes at most `STRIDE` deltas.

const STRIDE: usize = 128;

#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct LineIndex {
    /// Line count.
    lines: u32,
    /// Offset of line `i * STRIDE` and where its deltas start in `deltas`.
    checkpoints: Box<[(u32, u32)]>,
    /// Varint delta from each line's start to the next's.
    deltas: Box<[u8]>,
}

impl LineIndex {
    /// From the byte offsets at which lines start, ascending, the first 0.
    pub fn new(starts: &[u32]) -> LineIndex {
        let mut checkpoints = Vec::with_capacity(starts.len() / STRIDE + 1);
        let mut deltas = Vec::with_capacity(starts.len());
        for (i, w) in starts.iter().enumerate() {
            if i % STRIDE == 0 {
                checkpoints.push((*w, deltas.len() as u32));
            }
            if let Some(next) = starts.get(i + 1) {
                let mut d = next.saturating_sub(*w);
                loop {
                    let byte = (d & 0x7f) as u8;
                    d >>= 7;
                    if d == 0 {
                        deltas.push(byte);
                        break;
                    }
                    deltas.push(byte | 0x80);
                }
            }
        }
        LineIndex { lines: starts.len() as u32, checkpoints: checkpoints.into(), deltas: deltas.into() }
    }

    pub fn len(&self) -> usize {
        self.lines as usize
    }

    pub fn is_empty(&self) -> bool {
        self.lines == 0
    }

    /// 1-based line and column of a byte offset (line 1 for an empty file).
    pub fn line_col(&self, offset: u32) -> (u32, u32) {
        let cp = self.checkpoints.partition_point(|&(start, _)| start <= offset);
        let Some(&(mut start, mut at)) = cp.checked_sub(1).and_then(|i| self.checkpoints.get(i)) else {
            return (1, offset + 1);
        };
        let mut line = (cp - 1) * STRIDE;
        while line + 1 < self.len() {
            let (delta, used) = self.delta_at(at as usize);
            if start + delta > offset {
                break;
            }
            start += delta;
            at += used;
            line += 1;
        }
        (line as u32 + 1, offset - start + 1)
    }

    /// Byte offset at which 1-based `line` starts, if the file has it.
    pub fn line_start(&self, line: u32) -> Option<u32> {
        let i = (line as usize).checked_sub(1).filter(|&i| i < self.len())?;
        let &(mut start, mut at) = self.checkpoints.get(i / STRIDE)?;
        for _ in 0..i % STRIDE {
            let (delta, used) = self.delta_at(at as usize);
            start += delta;
            at += used;
        }
        Some(start)
    }

    fn delta_at(&self, mut at: usize) -> (u32, u32) {
        let (mut value, mut shift, mut used) = (0u32, 0u32, 0u32);
        while let Some(&b) = self.deltas.get(at) {
            value |= u32::from(b & 0x7f).checked_shl(shift).unwrap_or(0);
            used += 1;
            at += 1;
            shift += 7;
            if b & 0x80 == 0 {
                break;
            }
        }
        (value, used)
    }
}

#[cfg(test)]
mod tests {
    use super::LineIndex;

    fn plain(starts: &[u32], offset: u32) -> (u32, u32) {
        let line = starts.partition_point(|&s| s <= offset).max(1);
        let start = starts.get(line - 1).copied().unwrap_or(0);
        (line as u32, offset - start + 1)
    }

    #[test]
    fn agrees_with_a_plain_search() {
        // Lines of every length, some long enough for three-byte deltas.
        let mut starts = vec![0u32];
        for i in 0..1000u32 {
            let len = match i % 7 {
                0 => 1,
                1 => 200,
                2 => 70_000,
                _ => i % 90 + 1,
            };
            starts.push(starts[starts.len() - 1] + len);
        }
        let index = LineIndex::new(&starts);
        let end = starts[starts.len() - 1] + 10;
        for offset in (0..end).step_by(37).chain(starts.iter().copied()).chain(starts.iter().map(|s| s + 1)) {
            assert_eq!(index.line_col(offset), plain(&starts, offset), "offset {offset}");
        }
        for (i, s) in starts.iter().enumerate() {
            assert_eq!(index.line_start(i as u32 + 1), Some(*s));
        }
        assert_eq!(index.line_start(0), None);
        assert_eq!(index.line_start(starts.len() as u32 + 1), None);
        assert_eq!(LineIndex::new(&[0]).line_col(5), (1, 6));
        assert_eq!(LineIndex::new(&[]).line_col(5), (1, 6));
    }
}
