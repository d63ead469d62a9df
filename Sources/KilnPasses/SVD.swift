import CLapack
import KilnIR

/// The thin singular value decomposition a = u · diag(s) · vt of a row-major rows × cols
/// matrix, k = min(rows, cols): u is rows × k, vt is k × cols (both row-major), s holds the
/// singular values in descending order.
///
/// Algorithm: LAPACK's divide-and-conquer driver sgesdd (from OpenBLAS) on the column-major
/// copy of `a`, with sgesvd as the fallback when sgesdd does not converge. No SVD is
/// implemented here. Signs are then made canonical (each singular pair may flip both
/// vectors): the largest-magnitude entry of every row of vt (the first on ties) is
/// positive, so results do not depend on the LAPACK build; −0 becomes +0.
struct SVD {
    let rows: Int, cols: Int, k: Int
    var u: [Float]
    var s: [Float]
    var vt: [Float]

    init(rowMajor a: [Float], rows m: Int, cols n: Int) throws {
        try require(m > 0 && n > 0 && a.count == m * n, "svd: bad matrix shape \(m)x\(n)")
        try require(m < Int(Int32.max) && n < Int(Int32.max), "svd: matrix \(m)x\(n) is too large for LAPACK")
        rows = m; cols = n; k = min(m, n)
        var col = [Float](repeating: 0, count: m * n)
        for i in 0..<m { for j in 0..<n { col[i + j * m] = a[i * n + j] } }
        var uc = [Float](repeating: 0, count: m * k), vtc = [Float](repeating: 0, count: k * n)
        s = [Float](repeating: 0, count: k)
        var info = Self.gesdd(&col, m, n, &s, &uc, &vtc)
        if info != 0 {
            for i in 0..<m { for j in 0..<n { col[i + j * m] = a[i * n + j] } }
            info = Self.gesvd(&col, m, n, &s, &uc, &vtc)
        }
        try require(info == 0, "svd: LAPACK did not converge on a \(m)x\(n) matrix (info \(info))")
        u = [Float](repeating: 0, count: m * k)
        vt = [Float](repeating: 0, count: k * n)
        for i in 0..<m { for j in 0..<k { u[i * k + j] = uc[i + j * m] } }
        for i in 0..<k { for j in 0..<n { vt[i * n + j] = vtc[i + j * k] } }
        for i in 0..<k {
            let row = vt[(i * n)..<(i * n + n)]
            let top = row.indices.max { abs(row[$0]) < abs(row[$1]) || (abs(row[$0]) == abs(row[$1]) && $0 > $1) }!
            let flip: Float = row[top] < 0 ? -1 : 1
            for j in 0..<n { vt[i * n + j] = vt[i * n + j] * flip + 0 }
            for r in 0..<m { u[r * k + i] = u[r * k + i] * flip + 0 }
        }
    }

    private static func gesdd(_ a: inout [Float], _ m: Int, _ n: Int, _ s: inout [Float], _ u: inout [Float],
                              _ vt: inout [Float]) -> Int32 {
        var jobz: CChar = 83 // "S"
        var (mm, nn, lda, ldu, ldvt) = (Int32(m), Int32(n), Int32(m), Int32(m), Int32(min(m, n)))
        var info: Int32 = 0, lwork: Int32 = -1, query: Float = 0
        var iwork = [Int32](repeating: 0, count: 8 * min(m, n))
        sgesdd_(&jobz, &mm, &nn, &a, &lda, &s, &u, &ldu, &vt, &ldvt, &query, &lwork, &iwork, &info, 1)
        guard info == 0 else { return info }
        lwork = Int32(query.rounded(.up))
        var work = [Float](repeating: 0, count: max(1, Int(lwork)))
        sgesdd_(&jobz, &mm, &nn, &a, &lda, &s, &u, &ldu, &vt, &ldvt, &work, &lwork, &iwork, &info, 1)
        return info
    }

    private static func gesvd(_ a: inout [Float], _ m: Int, _ n: Int, _ s: inout [Float], _ u: inout [Float],
                              _ vt: inout [Float]) -> Int32 {
        var job: CChar = 83 // "S"
        var job2: CChar = 83
        var (mm, nn, lda, ldu, ldvt) = (Int32(m), Int32(n), Int32(m), Int32(m), Int32(min(m, n)))
        var info: Int32 = 0, lwork: Int32 = -1, query: Float = 0
        sgesvd_(&job, &job2, &mm, &nn, &a, &lda, &s, &u, &ldu, &vt, &ldvt, &query, &lwork, &info, 1, 1)
        guard info == 0 else { return info }
        lwork = Int32(query.rounded(.up))
        var work = [Float](repeating: 0, count: max(1, Int(lwork)))
        sgesvd_(&job, &job2, &mm, &nn, &a, &lda, &s, &u, &ldu, &vt, &ldvt, &work, &lwork, &info, 1, 1)
        return info
    }
}
