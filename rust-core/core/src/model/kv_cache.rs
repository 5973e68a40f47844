//! The KV cache every decoder layer appends to.

use candle_core::{Result, Tensor};

/// Keys and values of every layer for the tokens seen so far, in buffers written
/// in place that double when full (up to the context): a decode step copies one
/// position per layer instead of the whole history.
#[derive(Default)]
pub struct KvCache {
    /// Per layer: (heads, capacity, head_dim) keys and values.
    layers: Vec<Option<(Tensor, Tensor)>>,
    len: usize,
    /// Positions the next growth makes room for at least.
    reserved: usize,
}

impl KvCache {
    /// An empty cache whose buffers, once allocated, hold `positions`.
    pub fn with_capacity(positions: usize) -> Self {
        Self {
            reserved: positions,
            ..Self::default()
        }
    }

    /// Makes the next growth room for `positions` at once. Who knows how long
    /// a sequence will get allocates for it before its first answer token:
    /// growing half-way through an answer copies everything cached into
    /// fresh memory, and the first time a process does so it also pays for
    /// that memory's first touch (measured: the bench's first decode 7%
    /// slower than later ones, in 8 of 8 processes, when its cache grew).
    pub fn reserve(&mut self, positions: usize) {
        self.reserved = positions;
    }

    /// Counts `seq` positions as cached once every layer has appended them.
    pub(crate) fn advance(&mut self, seq: usize) {
        self.len += seq;
    }

    /// Positions the buffers hold before they must grow (0 before the first
    /// append).
    pub fn capacity(&self) -> usize {
        match self.layers.first() {
            Some(Some((k, _))) => k.dims().get(1).copied().unwrap_or(0),
            _ => 0,
        }
    }

    /// Empties the cache down to a copy of `prefix`'s positions, keeping its
    /// buffers: a new sequence that starts as `prefix` did, in memory already
    /// touched.
    pub fn restart_from(&mut self, prefix: &KvCache) -> Result<()> {
        self.len = 0;
        for (layer, theirs) in prefix.layers.iter().enumerate() {
            if let Some((k, v)) = theirs {
                let head = |t: &Tensor| t.narrow(1, 0, prefix.len)?.contiguous();
                self.append(layer, &head(k)?, &head(v)?, usize::MAX)?;
            }
        }
        self.len = prefix.len;
        Ok(())
    }

    /// Positions already in the cache.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Forgets every position from `len` on, e.g. to undo a cancelled turn or a
    /// forward pass that failed half-way through the layers (what it wrote past
    /// `len` is never read and gets overwritten).
    pub fn truncate(&mut self, len: usize) -> Result<()> {
        self.len = self.len.min(len);
        Ok(())
    }

    /// An independent copy of the cached positions, for another sequence to
    /// extend (the conversations of an engine start from its system prompt's).
    pub fn duplicate(&self) -> Result<KvCache> {
        let own = |t: &Tensor| -> Result<Tensor> { t.narrow(1, 0, self.len)?.contiguous()?.copy() };
        let layers = self
            .layers
            .iter()
            .map(|layer| match layer {
                Some((k, v)) => Ok(Some((own(k)?, own(v)?))),
                None => Ok(None),
            })
            .collect::<Result<_>>()?;
        Ok(KvCache {
            layers,
            len: self.len,
            reserved: 0,
        })
    }

    /// New buffers of `capacity` positions for `layer`, shaped like `like`,
    /// holding the cached positions.
    fn grow(&mut self, layer: usize, like: &Tensor, capacity: usize) -> Result<()> {
        let (heads, _, head_dim) = like.dims3()?;
        let fresh = || Tensor::zeros((heads, capacity, head_dim), like.dtype(), like.device());
        let (new_k, new_v) = (fresh()?, fresh()?);
        if let Some((old_k, old_v)) = &self.layers[layer] {
            if self.len > 0 {
                new_k.slice_set(&old_k.narrow(1, 0, self.len)?.contiguous()?, 1, 0)?;
                new_v.slice_set(&old_v.narrow(1, 0, self.len)?.contiguous()?, 1, 0)?;
            }
        }
        self.layers[layer] = Some((new_k, new_v));
        Ok(())
    }

    /// Writes `k`, `v` (heads, seq, head_dim) after the cached positions of
    /// `layer`; returns views of all positions so far. `limit` caps the growth.
    pub(crate) fn append(
        &mut self,
        layer: usize,
        k: &Tensor,
        v: &Tensor,
        limit: usize,
    ) -> Result<(Tensor, Tensor)> {
        if self.layers.len() <= layer {
            self.layers.resize(layer + 1, None);
        }
        let (offset, seq) = (self.len, k.dim(1)?);
        let needed = offset + seq;
        let capacity = match &self.layers[layer] {
            Some((buf, _)) => buf.dim(1)?,
            None => 0,
        };
        if capacity < needed {
            let grown = needed
                .next_power_of_two()
                .max(self.reserved)
                .clamp(64, limit.max(needed));
            self.grow(layer, k, grown)?;
        }
        let Some((buf_k, buf_v)) = &self.layers[layer] else {
            unreachable!("allocated above")
        };
        buf_k.slice_set(k, 1, offset)?;
        buf_v.slice_set(v, 1, offset)?;
        Ok((buf_k.narrow(1, 0, needed)?, buf_v.narrow(1, 0, needed)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    fn positions(values: &[f32]) -> Tensor {
        // (heads 1, seq, head_dim 2): each position holds its value twice.
        let data: Vec<f32> = values.iter().flat_map(|&v| [v, v]).collect();
        Tensor::from_vec(data, (1, values.len(), 2), &Device::Cpu).unwrap()
    }

    fn column(t: &Tensor) -> Vec<f32> {
        t.narrow(2, 0, 1)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap()
    }

    #[test]
    fn cache_grows_keeps_history_and_overwrites_after_truncation() {
        let mut cache = KvCache::default();
        let step = |cache: &mut KvCache, values: &[f32]| {
            let (k, v) = cache
                .append(0, &positions(values), &positions(values), 1000)
                .unwrap();
            cache.advance(values.len());
            (column(&k), column(&v))
        };
        let first: Vec<f32> = (0..60).map(|i| i as f32).collect();
        step(&mut cache, &first);
        // 60 + 10 crosses the first 64-position buffer.
        let (k, v) = step(&mut cache, &[100.0; 10]);
        assert_eq!(k.len(), 70);
        assert_eq!(&k[..60], &first[..]);
        assert_eq!(&k[60..], &[100.0; 10]);
        assert_eq!(k, v);

        cache.truncate(2).unwrap();
        let (k, _) = step(&mut cache, &[7.0]);
        assert_eq!(k, [0.0, 1.0, 7.0]);
    }

    #[test]
    fn a_restarted_cache_holds_the_prefix_in_its_own_buffers() {
        let mut prefix = KvCache::default();
        prefix
            .append(0, &positions(&[1.0, 2.0]), &positions(&[1.0, 2.0]), 1000)
            .unwrap();
        prefix.advance(2);
        let mut used = KvCache::with_capacity(100);
        let old: Vec<f32> = (10..40).map(|i| i as f32).collect();
        used.append(0, &positions(&old), &positions(&old), 1000)
            .unwrap();
        used.advance(old.len());

        used.restart_from(&prefix).unwrap();
        assert_eq!((used.len(), used.capacity()), (2, 100));
        let (k, v) = used
            .append(0, &positions(&[3.0]), &positions(&[3.0]), 1000)
            .unwrap();
        assert_eq!(column(&k), [1.0, 2.0, 3.0]);
        assert_eq!(column(&v), [1.0, 2.0, 3.0]);
    }

    #[test]
    fn a_reserved_cache_allocates_once_for_its_length_within_the_limit() {
        let mut cache = KvCache::with_capacity(300);
        let ones = positions(&[1.0; 10]);
        cache.append(0, &ones, &ones, 1000).unwrap();
        cache.advance(10);
        assert_eq!(cache.capacity(), 300);
        for _ in 0..29 {
            cache.append(0, &ones, &ones, 1000).unwrap();
            cache.advance(10);
        }
        assert_eq!(cache.capacity(), 300, "300 positions fit without growing");
        let (k, _) = cache.append(0, &ones, &ones, 1000).unwrap();
        assert_eq!((cache.capacity(), k.dim(1).unwrap()), (512, 310));

        let mut capped = KvCache::with_capacity(5000);
        capped.append(0, &ones, &ones, 1000).unwrap();
        assert_eq!(capped.capacity(), 1000, "never past the context");
    }
}
