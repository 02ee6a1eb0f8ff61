//! Positions in the plane and a uniform grid to find devices within radio range quickly.

use serde::{Deserialize, Serialize};

/// A position in metres.
#[derive(Clone, Copy, Debug, PartialEq, Default, Serialize, Deserialize)]
pub struct Pos {
    /// East, m.
    pub x: f64,
    /// North, m.
    pub y: f64,
}

impl Pos {
    /// A position.
    pub const fn new(x: f64, y: f64) -> Self {
        Pos { x, y }
    }

    /// Euclidean distance, m.
    pub fn distance(self, other: Pos) -> f64 {
        libm::hypot(self.x - other.x, self.y - other.y)
    }

    /// The point `step` metres from `self` towards `to` (or `to` if closer).
    pub fn towards(self, to: Pos, step: f64) -> Pos {
        let d = self.distance(to);
        if d <= step || d == 0.0 {
            return to;
        }
        let f = step / d;
        Pos::new(self.x + (to.x - self.x) * f, self.y + (to.y - self.y) * f)
    }
}

/// A uniform grid of square cells over the positions of all devices. Cells are at least
/// the query radius wide, so a query looks at the 3×3 cells around a point. Results come
/// out in ascending index order, which keeps everything built on them deterministic.
#[derive(Clone, Debug)]
pub struct Grid {
    cell: f64,
    cols: usize,
    rows: usize,
    min: Pos,
    cells: Vec<Vec<u32>>,
}

impl Grid {
    /// Indexes `positions` (of devices `0..len`) with cells of `cell` metres.
    pub fn new(positions: &[Pos], cell: f64) -> Self {
        let cell = cell.max(1.0);
        let (mut min, mut max) = (Pos::new(f64::MAX, f64::MAX), Pos::new(f64::MIN, f64::MIN));
        for p in positions {
            min = Pos::new(min.x.min(p.x), min.y.min(p.y));
            max = Pos::new(max.x.max(p.x), max.y.max(p.y));
        }
        if positions.is_empty() {
            (min, max) = (Pos::default(), Pos::default());
        }
        let cols = (((max.x - min.x) / cell) as usize + 1).min(4096);
        let rows = (((max.y - min.y) / cell) as usize + 1).min(4096);
        let mut grid = Grid { cell, cols, rows, min, cells: vec![Vec::new(); cols * rows] };
        for (i, p) in positions.iter().enumerate() {
            let c = grid.cell_of(*p);
            grid.cells[c].push(i as u32);
        }
        grid
    }

    fn coords(&self, p: Pos) -> (usize, usize) {
        let cx = (((p.x - self.min.x) / self.cell).max(0.0) as usize).min(self.cols - 1);
        let cy = (((p.y - self.min.y) / self.cell).max(0.0) as usize).min(self.rows - 1);
        (cx, cy)
    }

    fn cell_of(&self, p: Pos) -> usize {
        let (cx, cy) = self.coords(p);
        cy * self.cols + cx
    }

    /// Every indexed device within `radius` (at most the cell size) of `p`, ascending.
    pub fn within(&self, positions: &[Pos], p: Pos, radius: f64, out: &mut Vec<u32>) {
        out.clear();
        let (cx, cy) = self.coords(p);
        for y in cy.saturating_sub(1)..=(cy + 1).min(self.rows - 1) {
            for x in cx.saturating_sub(1)..=(cx + 1).min(self.cols - 1) {
                for &i in &self.cells[y * self.cols + x] {
                    if positions[i as usize].distance(p) <= radius {
                        out.push(i);
                    }
                }
            }
        }
        out.sort_unstable();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_finds_exactly_the_devices_in_range() {
        let pts: Vec<Pos> = (0..100).map(|i| Pos::new((i % 10) as f64 * 5.0, (i / 10) as f64 * 5.0)).collect();
        let grid = Grid::new(&pts, 12.0);
        let mut out = Vec::new();
        grid.within(&pts, pts[55], 10.0, &mut out);
        let brute: Vec<u32> =
            (0..100).filter(|&i| pts[i as usize].distance(pts[55]) <= 10.0).collect();
        assert_eq!(out, brute);
    }

    #[test]
    fn towards_stops_at_the_target() {
        let a = Pos::new(0.0, 0.0);
        assert_eq!(a.towards(Pos::new(3.0, 4.0), 10.0), Pos::new(3.0, 4.0));
        assert_eq!(a.towards(Pos::new(3.0, 4.0), 2.5), Pos::new(1.5, 2.0));
    }
}
