//! How a quantized matmul's work is cut: tiles of activation rows that stay
//! in the L1 cache while a chunk of weight rows runs over them, and the
//! output those chunks write from several threads at once. The formats'
//! kernels ([`super::gemm`], `q4k_vnni`) run inside these tiles.

/// Activation rows one kernel call takes: a whole tile, so each weight block
/// is unpacked once per eight positions. Measured with
/// `examples/kernel_speed.rs` on 2 AVX2 cores, Imp-3B's four shapes at 236
/// rows: 32 layers 12.5 s with four rows a call, 8.1 s with eight.
pub const MAX_ROWS: usize = 8;
/// Activation rows kept hot while a chunk of weight rows runs over them:
/// eight q8_K rows of a 2560-wide layer are 23 KB, within a 32 KB L1 data
/// cache. Measured as above: 8 rows 10-11% faster than 64 (with four rows a
/// call), 4 slower; 16 rows (two calls of eight) 10.5 s against 8.1 s.
pub(super) const TILE_ROWS: usize = 8;

/// Weight rows a kernel call may take at most.
pub(super) const MAX_WEIGHT_ROWS: usize = 2;

/// Output written by several threads at disjoint indices.
#[derive(Clone, Copy)]
pub(super) struct Out(pub(super) *mut f32);
// SAFETY: each index of the output is written by exactly one task.
unsafe impl Send for Out {}
// SAFETY: as above.
unsafe impl Sync for Out {}

/// One matmul's activations and output, run a chunk of weight rows at a time.
pub(super) struct Tiles<'a, A> {
    pub(super) acts: &'a [A],
    pub(super) m: usize,
    pub(super) n: usize,
    /// Blocks per row.
    pub(super) blocks: usize,
    pub(super) act_rows: usize,
    pub(super) dst: Out,
}

impl<A> Tiles<'_, A> {
    /// [`Tiles::run`] for a kernel of one weight row a call.
    pub(super) fn run_rows<B>(
        &self,
        rows: &[B],
        first: usize,
        dot: impl Fn(&[B], &[&[A]], &mut [f32]),
    ) {
        self.run(rows, first, 1, |w, a, o| dot(w[0], a, o))
    }

    /// Output columns `first..` for the whole weight rows `rows`, in the
    /// block form `dot` reads, against every tile of activation rows;
    /// `weight_rows` (at most [`MAX_WEIGHT_ROWS`]) per call of `dot`.
    pub(super) fn run<B>(
        &self,
        rows: &[B],
        first: usize,
        weight_rows: usize,
        dot: impl Fn(&[&[B]], &[&[A]], &mut [f32]),
    ) {
        let (m, n, blocks) = (self.m, self.n, self.blocks);
        for tile in (0..m).step_by(TILE_ROWS) {
            let tile_end = (tile + TILE_ROWS).min(m);
            let mut a: [&[A]; TILE_ROWS] = [&[]; TILE_ROWS];
            for (t, slot) in a[..tile_end - tile].iter_mut().enumerate() {
                *slot = &self.acts[(tile + t) * blocks..(tile + t + 1) * blocks];
            }
            for (g, group) in rows.chunks(blocks * weight_rows).enumerate() {
                let mut ws: [&[B]; MAX_WEIGHT_ROWS] = [&[]; MAX_WEIGHT_ROWS];
                let nw = group.len() / blocks;
                for (slot, row) in ws.iter_mut().zip(group.chunks_exact(blocks)) {
                    *slot = row;
                }
                let column = first + g * weight_rows;
                let mut i = tile;
                while i < tile_end {
                    let r = (tile_end - i).min(self.act_rows);
                    let mut res = [0f32; MAX_WEIGHT_ROWS * MAX_ROWS];
                    dot(&ws[..nw], &a[i - tile..i - tile + r], &mut res[..nw * r]);
                    for (j, res) in res[..nw * r].chunks_exact(r).enumerate() {
                        for (t, &v) in res.iter().enumerate() {
                            // SAFETY: row i + t < m, column + j < n; each
                            // column belongs to one chunk, run by one task.
                            unsafe { *self.dst.0.add((i + t) * n + column + j) = v };
                        }
                    }
                    i += r;
                }
            }
        }
    }
}
