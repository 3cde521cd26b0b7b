// Pre- and post-processing kernels of the tracker runtime, compiled at run time with NVRTC.
//
// Both follow the numpy references exactly (edgetrack/data/crops.py, edgetrack/runtime/decode.py); the
// tests compare them to those references. Built without --use_fast_math, so divisions are IEEE.

typedef unsigned char u8;

// One axis of the bilinear crop: the two frame indices and weights for output index `o`.
// Double precision for the source coordinate, as the numpy reference computes it, so floor() agrees.
struct Taps {
    int i0, i1;
    float w0, w1;
};

__device__ Taps axis_taps(int o, int start, int side, int out, int limit) {
    double src = ((double)o + 0.5) * ((double)side / (double)out) - 0.5;
    src = fmin(fmax(src, 0.0), (double)side - 1.0);  // clamp to the crop's own edges (OpenCV border rule)
    int i0 = (int)floor(src);
    double frac = src - (double)i0;
    int i1 = min(i0 + 1, side - 1);
    int f0 = start + i0, f1 = start + i1;
    bool ok0 = f0 >= 0 && f0 < limit, ok1 = f1 >= 0 && f1 < limit;
    Taps t;
    t.i0 = ok0 ? f0 : 0;
    t.i1 = ok1 ? f1 : 0;
    t.w0 = ok0 ? (float)(1.0 - frac) : 0.0f;  // taps outside the frame read zero
    t.w1 = ok1 ? (float)frac : 0.0f;
    return t;
}

// frame: uint8 (height, width, 3) RGB, rows `pitch` bytes apart. Crop: frame pixels [x1, x1 + side) x
// [y1, y1 + side) resized to out x out. dst: float32 (1, 3, out, out) of (v/255 - mean[c]) / std[c].
// One thread per output pixel; launch with a 2-D grid covering out x out.
extern "C" __global__ void crop_resize_normalize(const u8* __restrict__ frame, int height, int width, int pitch,
                                                 int x1, int y1, int side, int out,
                                                 float mean0, float mean1, float mean2,
                                                 float std0, float std1, float std2,
                                                 float* __restrict__ dst) {
    int ox = blockIdx.x * blockDim.x + threadIdx.x;
    int oy = blockIdx.y * blockDim.y + threadIdx.y;
    if (ox >= out || oy >= out) return;
    Taps tx = axis_taps(ox, x1, side, out, width);
    Taps ty = axis_taps(oy, y1, side, out, height);
    const u8* row0 = frame + (long long)ty.i0 * pitch;
    const u8* row1 = frame + (long long)ty.i1 * pitch;
    float mean[3] = {mean0, mean1, mean2};
    float stdv[3] = {std0, std1, std2};
    long long plane = (long long)out * out;
    for (int c = 0; c < 3; ++c) {
        // same order of operations as crops.crop_and_resize: blend along x per row, then along y
        float top = (float)row0[tx.i0 * 3 + c] * tx.w0;
        top += (float)row0[tx.i1 * 3 + c] * tx.w1;
        float bottom = (float)row1[tx.i0 * 3 + c] * tx.w0;
        bottom += (float)row1[tx.i1 * 3 + c] * tx.w1;
        float v = top * ty.w0;
        v += bottom * ty.w1;
        dst[c * plane + (long long)oy * out + ox] = (v / 255.0f - mean[c]) / stdv[c];
    }
}

#define DECODE_THREADS 256

// Is (v, i) a better peak than (bv, bi)? Larger value wins; ties go to the lower index (numpy argmax).
__device__ bool better(float v, int i, float bv, int bi) {
    return v > bv || (v == bv && i < bi);
}

// score: (feat, feat); size, offset: (2, feat, feat); window: (feat, feat) Hann window from decode.hann2d.
// result[0..7] = cx, cy, w, h (normalised), raw score at the peak, iy, ix, number of non-finite responses.
// Launch one block of DECODE_THREADS threads.
extern "C" __global__ void hann_argmax_decode(const float* __restrict__ score, const float* __restrict__ size,
                                              const float* __restrict__ offset, const float* __restrict__ window,
                                              int feat, float* __restrict__ result) {
    __shared__ float best_v[DECODE_THREADS];
    __shared__ int best_i[DECODE_THREADS];
    __shared__ int bad[DECODE_THREADS];
    int n = feat * feat;
    int t = threadIdx.x;
    float bv = __int_as_float(0xff800000);  // -inf; NVRTC has no math.h macros
    int bi = n;  // no cell yet; any finite value beats it
    int nbad = 0;
    for (int i = t; i < n; i += DECODE_THREADS) {
        float r = score[i] * window[i];
        if (!isfinite(r)) {
            ++nbad;
        } else if (better(r, i, bv, bi)) {
            bv = r;
            bi = i;
        }
    }
    best_v[t] = bv;
    best_i[t] = bi;
    bad[t] = nbad;
    __syncthreads();
    for (int stride = DECODE_THREADS / 2; stride > 0; stride >>= 1) {
        if (t < stride) {
            if (better(best_v[t + stride], best_i[t + stride], best_v[t], best_i[t])) {
                best_v[t] = best_v[t + stride];
                best_i[t] = best_i[t + stride];
            }
            bad[t] += bad[t + stride];
        }
        __syncthreads();
    }
    if (t == 0) {
        int i = best_i[0] < n ? best_i[0] : 0;
        int iy = i / feat, ix = i % feat;
        result[0] = ((float)ix + offset[i]) / (float)feat;
        result[1] = ((float)iy + offset[n + i]) / (float)feat;
        result[2] = size[i];
        result[3] = size[n + i];
        result[4] = score[i];
        result[5] = (float)iy;
        result[6] = (float)ix;
        result[7] = (float)bad[0];
    }
}
