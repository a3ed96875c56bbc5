#include "rnn.h"

#include <algorithm>
#include <atomic>
#include <functional>
#include <cmath>
#include <type_traits>
#include <vector>

#include "gemm.h"
#include "vecmath.h"
#include "pyseq/parallel.h"

namespace pyseq::kernels::cpu {
namespace {

// In place over n values: float through the vectorised table, double in scalar code.
template <class T>
void sigmoid_inplace(T* x, int64_t n) {
  if constexpr (std::is_same_v<T, float>) {
    vecmath().sigmoid(x, x, n);
  } else {
    for (int64_t j = 0; j < n; ++j) x[j] = T(1) / (T(1) + std::exp(-x[j]));
  }
}
template <class T>
void tanh_inplace(T* x, int64_t n) {
  if constexpr (std::is_same_v<T, float>) {
    vecmath().tanh(x, x, n);
  } else {
    for (int64_t j = 0; j < n; ++j) x[j] = std::tanh(x[j]);
  }
}

// rows (n, w) = bias broadcast over the rows, or 0.
template <class T>
void fill_rows(T* rows, const T* bias, int64_t n, int64_t w) {
  for (int64_t r = 0; r < n; ++r)
    for (int64_t j = 0; j < w; ++j) rows[r * w + j] = bias ? bias[j] : T(0);
}

// sums (w,) = the column sums of rows (n, w), threads taking bands of columns.
template <class T>
void column_sums(const T* rows, int64_t n, int64_t w, T* sums) {
  parallel_for(0, w, std::max<int64_t>(64, (int64_t{1} << 16) / std::max<int64_t>(n, 1)), [&](int64_t j0, int64_t j1) {
    std::fill(sums + j0, sums + j1, T(0));
    for (int64_t r = 0; r < n; ++r)
      for (int64_t j = j0; j < j1; ++j) sums[j] += rows[r * w + j];
  });
}

bool padded(const int64_t* lengths, int64_t b, int64_t t) { return lengths && t >= lengths[b]; }

// One row of one step, forward, for n hidden units (LSTM and GRU in float run vecmath's fused row
// kernels; their loops here serve double). Gate q of unit j sits at gx[q * sx + j] (the
// input projection with b_ih), gh[q * sh + j] (the recurrent one with b_hh; used as scratch) and
// saved[q * ss + j] (what backward needs); hp, cp: the state before, hn, cn: the state after.
template <class T>
void cell_forward(RnnMode mode, int64_t n, const T* gx, int64_t sx, T* gh, int64_t sh, const T* hp, const T* cp,
                  T* hn, T* cn, T* saved, int64_t ss) {
  switch (mode) {
    case RnnMode::Tanh:
    case RnnMode::Relu:
      for (int64_t j = 0; j < n; ++j) hn[j] = gx[j] + gh[j];
      if (mode == RnnMode::Tanh) tanh_inplace(hn, n);
      else
        for (int64_t j = 0; j < n; ++j) hn[j] = hn[j] < T(0) ? T(0) : hn[j];  // NaN passes, as relu's
      return;
    case RnnMode::LSTM: {
      if constexpr (std::is_same_v<T, float>) {
        vecmath().lstm_cell_row(gx, sx, gh, sh, cp, saved, ss, cn, hn, n);
        return;
      }
      T *i = saved, *f = saved + ss, *g = saved + 2 * ss, *o = saved + 3 * ss;
      for (int64_t q = 0; q < 4; ++q)
        for (int64_t j = 0; j < n; ++j) saved[q * ss + j] = gx[q * sx + j] + gh[q * sh + j];
      sigmoid_inplace(i, n);
      sigmoid_inplace(f, n);
      tanh_inplace(g, n);
      sigmoid_inplace(o, n);
      for (int64_t j = 0; j < n; ++j) cn[j] = f[j] * cp[j] + i[j] * g[j];
      std::copy(cn, cn + n, hn);
      tanh_inplace(hn, n);
      for (int64_t j = 0; j < n; ++j) hn[j] *= o[j];
      return;
    }
    case RnnMode::GRU: {
      if constexpr (std::is_same_v<T, float>) {
        vecmath().gru_cell_row(gx, sx, gh, sh, hp, saved, ss, hn, n);
        return;
      }
      T *r = saved, *z = saved + ss, *c = saved + 2 * ss, *hh = saved + 3 * ss;  // c: the candidate n
      for (int64_t q = 0; q < 2; ++q)
        for (int64_t j = 0; j < n; ++j) saved[q * ss + j] = gx[q * sx + j] + gh[q * sh + j];
      sigmoid_inplace(r, n);
      sigmoid_inplace(z, n);
      for (int64_t j = 0; j < n; ++j) {
        hh[j] = gh[2 * sh + j];  // W_hn h + b_hn
        c[j] = gx[2 * sx + j] + r[j] * hh[j];
      }
      tanh_inplace(c, n);
      for (int64_t j = 0; j < n; ++j) hn[j] = c[j] + z[j] * (hp[j] - c[j]);
      return;
    }
  }
}

// One row of one step, backward, for n hidden units laid out as in cell_forward (dgx and dgh like
// gx, gate stride sx). dh: dL/dh' (the carried gradient plus the output's); dc: dL/dc' in, dL/dc
// out (LSTM). Writes the gradients of the gates' pre-activations on the input side (dgx) and the
// recurrent side (dgh: the same except GRU's n gate, which sees r (W_hn h + b_hn)), and the part
// of dL/dh that does not pass through W_hh (dh_direct: GRU's z h term, else 0). scratch: n values.
template <class T>
void cell_backward(RnnMode mode, int64_t n, const T* dh, T* dc, const T* hp, const T* cp, const T* hn, const T* cn,
                   const T* saved, int64_t ss, T* dgx, T* dgh, int64_t sx, T* dh_direct, T* scratch) {
  switch (mode) {
    case RnnMode::Tanh:
      for (int64_t j = 0; j < n; ++j) dgx[j] = dh[j] * (T(1) - hn[j] * hn[j]);
      std::fill(dh_direct, dh_direct + n, T(0));
      return;
    case RnnMode::Relu:
      for (int64_t j = 0; j < n; ++j) dgx[j] = hn[j] > T(0) ? dh[j] : T(0);
      std::fill(dh_direct, dh_direct + n, T(0));
      return;
    case RnnMode::LSTM: {
      const T *i = saved, *f = saved + ss, *g = saved + 2 * ss, *o = saved + 3 * ss;
      T* tc = scratch;  // tanh(c')
      std::copy(cn, cn + n, tc);
      tanh_inplace(tc, n);
      for (int64_t j = 0; j < n; ++j) {
        const T dcj = dc[j] + dh[j] * o[j] * (T(1) - tc[j] * tc[j]);
        dgx[j] = dcj * g[j] * i[j] * (T(1) - i[j]);
        dgx[sx + j] = dcj * cp[j] * f[j] * (T(1) - f[j]);
        dgx[2 * sx + j] = dcj * i[j] * (T(1) - g[j] * g[j]);
        dgx[3 * sx + j] = dh[j] * tc[j] * o[j] * (T(1) - o[j]);
        dc[j] = dcj * f[j];
      }
      std::fill(dh_direct, dh_direct + n, T(0));
      return;
    }
    case RnnMode::GRU: {
      const T *r = saved, *z = saved + ss, *c = saved + 2 * ss, *hh = saved + 3 * ss;
      for (int64_t j = 0; j < n; ++j) {
        const T dn = dh[j] * (T(1) - z[j]) * (T(1) - c[j] * c[j]);  // through the candidate's tanh
        const T dr = dn * hh[j] * r[j] * (T(1) - r[j]);
        const T dz = dh[j] * (hp[j] - c[j]) * z[j] * (T(1) - z[j]);
        dgx[j] = dgh[j] = dr;
        dgx[sx + j] = dgh[sx + j] = dz;
        dgx[2 * sx + j] = dn;
        dgh[2 * sx + j] = dn * r[j];
        dh_direct[j] = dh[j] * z[j];
      }
      return;
    }
  }
}

// The steps run on a team of threads (parallel_team) that meets at one barrier a step (the next
// step's GEMM reads every unit of the state), one thread when a step is too small to share.
int team_size(int64_t H, int64_t step_multiply_adds) {
  if (step_multiply_adds < (int64_t{1} << 15)) return 1;
  return static_cast<int>(std::min<int64_t>(get_num_threads(), (H + 15) / 16));
}

// Forward, the hidden units come in chunks of whole vectors (four a thread, one for small steps),
// each with its own slice of W_hh and b_hh: the rows of gate q of units [u0, u1), gathered
// (G nu, H) and prepared for the step's GEMM (packed for a large batch; for a few rows, read in
// place as rows to dot with h). Each step a thread computes the gates and cells of the chunks it
// claims: its own first (they stay in its cache), then any another thread has not reached, so a
// slow thread holds the barrier up by one chunk at most.
template <class T>
struct alignas(64) UnitChunk {  // a cache line of its own: threads claim chunks side by side
  int64_t u0 = 0, u1 = 0;
  std::vector<T> w, b;
  PreparedB<T> prepared;
  std::atomic<int64_t> claimed{0};  // the last step (+ 1) a thread took this chunk for
};
template <class T>
void prepare_chunk(UnitChunk<T>& c, const T* w_hh, const T* b_hh, int64_t G, int64_t H, int64_t S, int64_t B) {
  const int64_t nu = c.u1 - c.u0, gn = G * nu;
  c.w.resize(static_cast<size_t>(gn * S));
  c.b.resize(static_cast<size_t>(gn));
  for (int64_t q = 0; q < G; ++q) {
    const T* rows = w_hh + (q * H + c.u0) * S;
    std::copy(rows, rows + nu * S, c.w.data() + q * nu * S);
    for (int64_t j = 0; j < nu; ++j) c.b[q * nu + j] = b_hh ? b_hh[q * H + c.u0 + j] : T(0);
  }
  c.prepared = prepare_b<T>(true, S, gn, c.w.data(), S, B);  // op(B) = W_chunk^T (S, G nu)
}

// Backward, each thread owns one range of units for the whole loop: its cells write dL/dh of its
// units, which its own GEMM then completes, so one barrier a step suffices. (With a projection,
// each thread also owns a range of the P outputs, and a step takes three phases.)
std::pair<int64_t, int64_t> own_units(int64_t H, int thread, int threads) {
  const int64_t blocks = (H + 15) / 16, b0 = blocks * thread / threads, b1 = blocks * (thread + 1) / threads;
  return {std::min(H, b0 * 16), std::min(H, b1 * 16)};
}

}  // namespace

template <class T>
void rnn_forward(const RnnShape& s, const T* x, const T* h0, const T* c0, const T* w_ih, const T* w_hh, const T* b_ih,
                 const T* b_hh, const T* w_hr, const int64_t* lengths, T* out, T* h_n, T* c_n,
                 const RnnSaved<T>& saved, T* workspace) {
  const int64_t B = s.B, H = s.H, P = s.P, S = s.state_size(), G = rnn_gates(s.mode), GH = G * H;
  const int64_t SG = rnn_saved_gates(s.mode) * H, BH = B * H, BS = B * S;
  const bool lstm = s.mode == RnnMode::LSTM;
  const int64_t r = s.reverse ? 1 : 0, first = s.reverse ? s.T : 0;
  // gx (T B, G H) = x W_ih^T + b_ih: every step's input projection at once
  T* gx = workspace;
  fill_rows(gx, b_ih, s.T * B, GH);
  gemm<T>(false, true, s.T * B, GH, s.I, T(1), x, s.I, w_ih, s.I, T(1), gx, GH);
  for (int64_t j = 0; j < BS; ++j) saved.states[first * BS + j] = h0 ? h0[j] : T(0);
  for (int64_t j = 0; j < BH && lstm; ++j) saved.cells[first * BH + j] = c0 ? c0[j] : T(0);

  const int team = team_size(H, B * GH * S);
  const int64_t chunks_per_thread = B * GH * S >= (int64_t{1} << 22) ? 4 : 1;  // small steps: no stealing
  const int64_t blocks = (H + 15) / 16, per_chunk = 16 * std::max<int64_t>(1, blocks / (chunks_per_thread * team));
  std::vector<UnitChunk<T>> chunks(static_cast<size_t>((H + per_chunk - 1) / per_chunk));
  for (size_t c = 0; c < chunks.size(); ++c) {
    chunks[c].u0 = static_cast<int64_t>(c) * per_chunk;
    chunks[c].u1 = std::min(H, chunks[c].u0 + per_chunk);
  }
  const int64_t n_chunks = static_cast<int64_t>(chunks.size());
  parallel_team(team, [&](int thread, int threads, const std::function<void()>& barrier) {
    for (int64_t c = thread; c < n_chunks; c += threads) prepare_chunk(chunks[c], w_hh, b_hh, G, H, S, B);
    const int64_t own_count = (n_chunks - thread + threads - 1) / threads;
    std::vector<T> gh(static_cast<size_t>(B * G * per_chunk));
    // the projection: this thread's outputs [p0, p1), op(B) = W_hr[p0:p1]^T (H, p1 - p0)
    const auto [p0, p1] = own_units(P, thread, threads);
    const PreparedB<T> w_proj = p1 > p0 ? prepare_b<T>(true, H, p1 - p0, w_hr + p0 * H, H, B) : PreparedB<T>{};
    barrier();
    for (int64_t step = 0; step < s.T; ++step) {
      const int64_t t = s.reverse ? s.T - 1 - step : step;
      const T* hp = saved.states + (t + r) * BS;
      T* hn = saved.states + (t + 1 - r) * BS;
      const T* cp = lstm ? saved.cells + (t + r) * BH : nullptr;
      T* cn = lstm ? saved.cells + (t + 1 - r) * BH : nullptr;
      T* unprojected = P ? saved.unprojected + t * BH : nullptr;  // o tanh(c'), (B, H)
      for (int64_t k = 0; k < own_count + n_chunks; ++k) {
        // its own chunks first (thread, thread + threads, ...), then every chunk in order
        UnitChunk<T>& chunk = chunks[k < own_count ? thread + k * threads : k - own_count];
        if (chunk.claimed.load(std::memory_order_relaxed) == step + 1 || chunk.claimed.exchange(step + 1) == step + 1)
          continue;  // another thread has it
        const int64_t u0 = chunk.u0, nu = chunk.u1 - u0, gn = G * nu;
        fill_rows(gh.data(), chunk.b.data(), B, gn);  // gh (B, G nu) = h W_chunk^T + b_chunk
        gemm_prepared<T>(B, T(1), hp, S, chunk.prepared, T(1), gh.data(), gn);
        for (int64_t b = 0; b < B; ++b) {
          const int64_t row = b * H + u0;  // in (B, H); the state's row is b * S + u0 (without a projection S = H)
          T* h_units = P ? unprojected + row : hn + row;
          if (padded(lengths, b, t)) {  // the state passes through, the output is 0
            if (P) std::fill(h_units, h_units + nu, T(0));
            else std::copy(hp + row, hp + row + nu, h_units);
            if (lstm) std::copy(cp + row, cp + row + nu, cn + row);
            if (!P) std::fill(out + (t * B + b) * H + u0, out + (t * B + b) * H + u0 + nu, T(0));
            continue;
          }
          cell_forward(s.mode, nu, gx + (t * B + b) * GH + u0, H, gh.data() + b * gn, nu,
                       P ? nullptr : hp + row, lstm ? cp + row : nullptr, h_units, lstm ? cn + row : nullptr,
                       SG ? saved.gates + (t * B + b) * SG + u0 : nullptr, H);
          if (!P) std::copy(h_units, h_units + nu, out + (t * B + b) * H + u0);
        }
      }
      barrier();  // the step's units are complete
      if (!P) continue;
      // h' (B, P) = unprojected (B, H) W_hr^T, this thread's outputs
      if (p1 > p0) gemm_prepared<T>(B, T(1), unprojected, H, w_proj, T(0), hn + p0, P);
      for (int64_t b = 0; b < B && p1 > p0; ++b) {
        T* o = out + (t * B + b) * P;
        if (padded(lengths, b, t)) {
          std::copy(hp + b * P + p0, hp + b * P + p1, hn + b * P + p0);
          std::fill(o + p0, o + p1, T(0));
        } else {
          std::copy(hn + b * P + p0, hn + b * P + p1, o + p0);
        }
      }
      barrier();  // the projected state is complete
    }
  });
  const int64_t last = s.reverse ? 0 : s.T;
  std::copy(saved.states + last * BS, saved.states + (last + 1) * BS, h_n);
  if (lstm) std::copy(saved.cells + last * BH, saved.cells + (last + 1) * BH, c_n);
}

template <class T>
void rnn_backward(const RnnShape& s, const T* x, const T* w_ih, const T* w_hh, const T* w_hr, const int64_t* lengths,
                  const RnnSaved<T>& saved, const T* d_out, const T* d_hn, const T* d_cn, T* dx, T* dh0, T* dc0,
                  T* dw_ih, T* dw_hh, T* db_ih, T* db_hh, T* dw_hr, T* workspace) {
  const int64_t B = s.B, H = s.H, P = s.P, S = s.state_size(), GH = rnn_gates(s.mode) * H;
  const int64_t SG = rnn_saved_gates(s.mode) * H, BH = B * H, BS = B * S, TB = s.T * B;
  const bool lstm = s.mode == RnnMode::LSTM, gru = s.mode == RnnMode::GRU;
  const int64_t r = s.reverse ? 1 : 0;
  // dgx (T B, G H): gradients of the gates' pre-activations; dgh the same on the recurrent side
  // where it differs (GRU's n gate). dL/dh after the step (dh) and before it (dh_before), (B, S),
  // swapped each step; dL/dc in place. With a projection: dL/dh' of every step (dh_steps, (T, B, P),
  // 0 at padded steps) and dL/d(o tanh c') of the current one (d_unprojected, (B, H)).
  T* dgx = workspace;
  T* dgh = gru ? dgx + TB * GH : dgx;
  T* dh = dgx + (gru ? 2 : 1) * TB * GH;
  T* dh_before = dh + BS;
  T* dh_steps = P ? dh_before + BS : nullptr;
  T* d_unprojected = P ? dh_steps + TB * P : nullptr;
  std::vector<T> dc(lstm ? BH : 0);
  for (int64_t j = 0; j < BS; ++j) dh[j] = d_hn ? d_hn[j] : T(0);
  for (int64_t j = 0; j < BH && lstm; ++j) dc[j] = d_cn ? d_cn[j] : T(0);

  parallel_team(team_size(H, B * GH * S), [&](int thread, int threads, const std::function<void()>& barrier) {
    const auto [j0, j1] = own_units(H, thread, threads);
    const auto [p0, p1] = own_units(P, thread, threads);
    const int64_t nj = j1 - j0, np = p1 - p0;
    // dL/dh before a step is dgh (B, G H) W_hh: this thread computes the state's columns it owns,
    // W_hh[:, j0:j1] (G H, nj), or with a projection W_hh[:, p0:p1] (G H, np)
    const PreparedB<T> w_cols = P ? (np ? prepare_b<T>(false, GH, np, w_hh + p0, P, B) : PreparedB<T>{})
                                  : prepare_b<T>(false, GH, nj, w_hh + j0, H, B);
    // and passes dL/dh' back through W_hr[:, j0:j1] (P, nj) to its units
    const PreparedB<T> proj_cols = P && nj ? prepare_b<T>(false, P, nj, w_hr + j0, H, B) : PreparedB<T>{};
    std::vector<T> scratch(static_cast<size_t>(nj)), no_direct(static_cast<size_t>(P ? nj : 0));
    T *after = dh, *before = dh_before;
    for (int64_t step = s.T - 1; step >= 0; --step) {
      const int64_t t = s.reverse ? s.T - 1 - step : step;
      const T* hp = saved.states + (t + r) * BS;
      const T* hn = saved.states + (t + 1 - r) * BS;
      const T* cp = lstm ? saved.cells + (t + r) * BH : nullptr;
      const T* cn = lstm ? saved.cells + (t + 1 - r) * BH : nullptr;
      if (P) {  // dL/dh' of this thread's outputs is complete: keep it, then pass it back through W_hr
        for (int64_t b = 0; b < B; ++b) {
          T* dhs = dh_steps + (t * B + b) * P;
          const bool pad = padded(lengths, b, t);
          for (int64_t p = p0; p < p1; ++p) {
            if (!pad && d_out) after[b * P + p] += d_out[(t * B + b) * P + p];
            dhs[p] = pad ? T(0) : after[b * P + p];
          }
        }
        barrier();
        if (nj) gemm_prepared<T>(B, T(1), after, P, proj_cols, T(0), d_unprojected + j0, H);
      }
      for (int64_t b = 0; b < B && nj > 0; ++b) {
        const int64_t row = b * H + j0;
        T* gxr = dgx + (t * B + b) * GH + j0;
        T* ghr = dgh + (t * B + b) * GH + j0;
        if (padded(lengths, b, t)) {  // the gradient passes through to the state before
          for (int64_t q = 0; q < GH / H; ++q) {
            std::fill(gxr + q * H, gxr + q * H + nj, T(0));
            if (gru) std::fill(ghr + q * H, ghr + q * H + nj, T(0));  // else ghr is gxr
          }
          if (!P) std::copy(after + row, after + row + nj, before + row);
          continue;
        }
        if (d_out && !P)
          for (int64_t j = 0; j < nj; ++j) after[row + j] += d_out[(t * B) * H + row + j];
        cell_backward(s.mode, nj, P ? d_unprojected + row : after + row, lstm ? dc.data() + row : nullptr,
                      P ? nullptr : hp + row, lstm ? cp + row : nullptr, P ? nullptr : hn + row,
                      lstm ? cn + row : nullptr,
                      SG ? saved.gates + (t * B + b) * SG + j0 : nullptr, H, gxr, ghr, H,
                      P ? no_direct.data() : before + row, scratch.data());
      }
      barrier();  // every unit's dgh of this step is written
      if (P)  // padded rows pass dL/dh' through; LSTM has no direct part
        for (int64_t b = 0; b < B; ++b)
          for (int64_t p = p0; p < p1; ++p) before[b * P + p] = padded(lengths, b, t) ? after[b * P + p] : T(0);
      // dL/dh before the step, this thread's columns: the direct part + dgh (B, G H) W_hh[:, cols]
      const int64_t c0 = P ? p0 : j0;
      if (P ? np > 0 : nj > 0) gemm_prepared<T>(B, T(1), dgh + t * B * GH, GH, w_cols, T(1), before + c0, S);
      std::swap(after, before);
    }
  });
  const T* dh_start = s.T % 2 ? dh_before : dh;  // where the last swap left it
  if (dh0) std::copy(dh_start, dh_start + BS, dh0);
  if (dc0 && lstm) std::copy(dc.begin(), dc.end(), dc0);
  // whole-sequence products: dx = dgx W_ih, dW_ih = dgx^T x, dW_hh = dgh^T (the states before each
  // step), dW_hr = dh_steps^T unprojected
  if (dx) gemm<T>(false, false, TB, s.I, GH, T(1), dgx, GH, w_ih, s.I, T(0), dx, s.I);
  if (dw_ih) gemm<T>(true, false, GH, s.I, TB, T(1), dgx, GH, x, s.I, T(0), dw_ih, s.I);
  if (dw_hh) gemm<T>(true, false, GH, S, TB, T(1), dgh, GH, saved.states + r * BS, S, T(0), dw_hh, S);
  if (dw_hr && P) gemm<T>(true, false, P, H, TB, T(1), dh_steps, P, saved.unprojected, H, T(0), dw_hr, H);
  if (db_ih) column_sums(dgx, TB, GH, db_ih);
  if (db_hh && db_ih && !gru) std::copy(db_ih, db_ih + GH, db_hh);  // the same sums
  else if (db_hh) column_sums(dgh, TB, GH, db_hh);
}

template <class T>
void rnn_reference(const RnnShape& s, const T* x, const T* h0, const T* c0, const T* w_ih, const T* w_hh,
                   const T* b_ih, const T* b_hh, const T* w_hr, const int64_t* lengths, T* out, T* h_n, T* c_n,
                   const T* d_out, const T* d_hn, const T* d_cn, T* dx, T* dh0, T* dc0, T* dw_ih, T* dw_hh, T* db_ih,
                   T* db_hh, T* dw_hr) {
  const int64_t nT = s.T, B = s.B, I = s.I, H = s.H, P = s.P, S = s.state_size(), G = rnn_gates(s.mode);
  const bool lstm = s.mode == RnnMode::LSTM, gru = s.mode == RnnMode::GRU;
  auto sigmoid = [](T v) { return T(1) / (T(1) + std::exp(-v)); };
  auto order = [&](int64_t step) { return s.reverse ? nT - 1 - step : step; };
  auto live = [&](int64_t b, int64_t t) { return !lengths || t < lengths[b]; };
  // Per step (in time order) and row: the state (S) and cell (H) before and after, the cell's output
  // before the projection (H; the state itself without one), and the pre-activations of each gate
  // from the input side (ax) and from the recurrent side (ah).
  const size_t steps = static_cast<size_t>(nT * B);
  std::vector<std::vector<T>> h_before(steps), c_before(steps), h_after(steps), c_after(steps), raw(steps), ax(steps),
      ah(steps);
  std::vector<T> h(static_cast<size_t>(B * S)), c(static_cast<size_t>(B * H));
  for (int64_t j = 0; j < B * S; ++j) h[j] = h0 ? h0[j] : T(0);
  for (int64_t j = 0; j < B * H; ++j) c[j] = c0 ? c0[j] : T(0);
  for (int64_t step = 0; step < nT; ++step) {
    const int64_t t = order(step);
    for (int64_t b = 0; b < B; ++b) {
      T* o = out + (t * B + b) * S;
      const size_t k = static_cast<size_t>(t * B + b);
      if (!live(b, t)) {
        for (int64_t j = 0; j < S; ++j) o[j] = T(0);
        continue;
      }
      std::vector<T>&hb = h_before[k], &cb = c_before[k], &a = ax[k], &ar = ah[k], &u = raw[k];
      hb.assign(h.begin() + b * S, h.begin() + (b + 1) * S);
      cb.assign(c.begin() + b * H, c.begin() + (b + 1) * H);
      a.assign(static_cast<size_t>(G * H), T(0));
      ar.assign(static_cast<size_t>(G * H), T(0));
      u.assign(static_cast<size_t>(H), T(0));
      for (int64_t q = 0; q < G * H; ++q) {
        for (int64_t i = 0; i < I; ++i) a[q] += w_ih[q * I + i] * x[(t * B + b) * I + i];
        for (int64_t i = 0; i < S; ++i) ar[q] += w_hh[q * S + i] * hb[i];
        if (b_ih) a[q] += b_ih[q];
        if (b_hh) ar[q] += b_hh[q];
      }
      for (int64_t j = 0; j < H; ++j) {
        T hv, cv = cb[j];
        if (lstm) {
          const T ig = sigmoid(a[j] + ar[j]), fg = sigmoid(a[H + j] + ar[H + j]),
                  gg = std::tanh(a[2 * H + j] + ar[2 * H + j]), og = sigmoid(a[3 * H + j] + ar[3 * H + j]);
          cv = fg * cb[j] + ig * gg;
          hv = og * std::tanh(cv);
        } else if (gru) {
          const T rg = sigmoid(a[j] + ar[j]), zg = sigmoid(a[H + j] + ar[H + j]),
                  ng = std::tanh(a[2 * H + j] + rg * ar[2 * H + j]);
          hv = (T(1) - zg) * ng + zg * hb[j];
        } else {
          const T v = a[j] + ar[j];
          hv = s.mode == RnnMode::Tanh ? std::tanh(v) : (v < T(0) ? T(0) : v);
        }
        u[j] = hv;
        c[b * H + j] = cv;
      }
      for (int64_t j = 0; j < S; ++j) {  // h' = W_hr u, or u itself
        T hv = P ? T(0) : u[j];
        for (int64_t i = 0; i < H && P; ++i) hv += w_hr[j * H + i] * u[i];
        h[b * S + j] = o[j] = hv;
      }
      h_after[k].assign(h.begin() + b * S, h.begin() + (b + 1) * S);
      c_after[k].assign(c.begin() + b * H, c.begin() + (b + 1) * H);
    }
  }
  std::copy(h.begin(), h.end(), h_n);
  if (lstm) std::copy(c.begin(), c.end(), c_n);
  if (!d_out && !d_hn && !d_cn) return;

  // Backward: dh, dc carried from the end of the sequence to its start.
  std::vector<T> dh(static_cast<size_t>(B * S)), dc(static_cast<size_t>(B * H));
  for (int64_t j = 0; j < B * S; ++j) dh[j] = d_hn ? d_hn[j] : T(0);
  for (int64_t j = 0; j < B * H; ++j) dc[j] = d_cn && lstm ? d_cn[j] : T(0);
  auto zero = [](T* p, int64_t n) {
    if (p) std::fill(p, p + n, T(0));
  };
  zero(dx, nT * B * I);
  zero(dw_ih, G * H * I);
  zero(dw_hh, G * H * S);
  zero(db_ih, G * H);
  zero(db_hh, G * H);
  zero(dw_hr, P * H);
  std::vector<T> dax(static_cast<size_t>(G * H)), dah(static_cast<size_t>(G * H)), du(static_cast<size_t>(H));
  for (int64_t step = nT - 1; step >= 0; --step) {
    const int64_t t = order(step);
    for (int64_t b = 0; b < B; ++b) {
      if (!live(b, t)) continue;
      const size_t k = static_cast<size_t>(t * B + b);
      const std::vector<T>&hb = h_before[k], &cb = c_before[k], &ha = h_after[k], &ca = c_after[k], &a = ax[k],
                       &ar = ah[k], &u = raw[k];
      // dL/dh' -> dL/du through the projection (u = h' without one)
      for (int64_t j = 0; j < H; ++j) du[j] = P ? T(0) : dh[b * S + j] + (d_out ? d_out[k * S + j] : T(0));
      for (int64_t p = 0; p < P; ++p) {
        const T g = dh[b * S + p] + (d_out ? d_out[k * S + p] : T(0));
        for (int64_t i = 0; i < H; ++i) {
          du[i] += g * w_hr[p * H + i];
          if (dw_hr) dw_hr[p * H + i] += g * u[i];
        }
      }
      std::vector<T> dh_prev(static_cast<size_t>(S), T(0));
      for (int64_t j = 0; j < H; ++j) {
        const T g = du[j];
        if (lstm) {
          const T ig = sigmoid(a[j] + ar[j]), fg = sigmoid(a[H + j] + ar[H + j]),
                  gg = std::tanh(a[2 * H + j] + ar[2 * H + j]), og = sigmoid(a[3 * H + j] + ar[3 * H + j]);
          const T tc = std::tanh(ca[j]), dcv = dc[b * H + j] + g * og * (T(1) - tc * tc);
          dax[j] = dcv * gg * ig * (T(1) - ig);
          dax[H + j] = dcv * cb[j] * fg * (T(1) - fg);
          dax[2 * H + j] = dcv * ig * (T(1) - gg * gg);
          dax[3 * H + j] = g * tc * og * (T(1) - og);
          for (int64_t q = 0; q < 4; ++q) dah[q * H + j] = dax[q * H + j];
          dc[b * H + j] = dcv * fg;
        } else if (gru) {
          const T rg = sigmoid(a[j] + ar[j]), zg = sigmoid(a[H + j] + ar[H + j]),
                  ng = std::tanh(a[2 * H + j] + rg * ar[2 * H + j]);
          const T dn = g * (T(1) - zg) * (T(1) - ng * ng);
          dax[j] = dah[j] = dn * ar[2 * H + j] * rg * (T(1) - rg);
          dax[H + j] = dah[H + j] = g * (hb[j] - ng) * zg * (T(1) - zg);
          dax[2 * H + j] = dn;
          dah[2 * H + j] = dn * rg;
          dh_prev[j] += g * zg;
        } else {
          dax[j] = dah[j] = s.mode == RnnMode::Tanh ? g * (T(1) - ha[j] * ha[j]) : (ha[j] > T(0) ? g : T(0));
        }
      }
      for (int64_t q = 0; q < G * H; ++q) {
        for (int64_t i = 0; i < I; ++i) {
          if (dx) dx[k * I + i] += dax[q] * w_ih[q * I + i];
          if (dw_ih) dw_ih[q * I + i] += dax[q] * x[k * I + i];
        }
        for (int64_t i = 0; i < S; ++i) {
          dh_prev[i] += dah[q] * w_hh[q * S + i];
          if (dw_hh) dw_hh[q * S + i] += dah[q] * hb[i];
        }
        if (db_ih) db_ih[q] += dax[q];
        if (db_hh) db_hh[q] += dah[q];
      }
      std::copy(dh_prev.begin(), dh_prev.end(), dh.begin() + b * S);
    }
  }
  if (dh0) std::copy(dh.begin(), dh.end(), dh0);
  if (dc0 && lstm) std::copy(dc.begin(), dc.end(), dc0);
}

#define PYSEQ_INSTANTIATE(T)                                                                                       \
  template void rnn_forward<T>(const RnnShape&, const T*, const T*, const T*, const T*, const T*, const T*, const T*, \
                               const T*, const int64_t*, T*, T*, T*, const RnnSaved<T>&, T*);                      \
  template void rnn_backward<T>(const RnnShape&, const T*, const T*, const T*, const T*, const int64_t*,            \
                                const RnnSaved<T>&, const T*, const T*, const T*, T*, T*, T*, T*, T*, T*, T*, T*,   \
                                T*);                                                                                \
  template void rnn_reference<T>(const RnnShape&, const T*, const T*, const T*, const T*, const T*, const T*,       \
                                 const T*, const T*, const int64_t*, T*, T*, T*, const T*, const T*, const T*, T*,  \
                                 T*, T*, T*, T*, T*, T*, T*);
PYSEQ_INSTANTIATE(float)
PYSEQ_INSTANTIATE(double)
#undef PYSEQ_INSTANTIATE

}  // namespace pyseq::kernels::cpu
