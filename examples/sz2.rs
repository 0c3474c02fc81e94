use std::mem::size_of;
use lockpath::analysis::{summary::*, dataflow::Observation};
fn main() {
    println!("FunctionSummary {} Observation {} Acquisition {} ExitLock {} IrqUse {} Effect {}",
        size_of::<FunctionSummary>(), size_of::<Observation>(), size_of::<Acquisition>(), size_of::<ExitLock>(), size_of::<IrqUse>(), size_of::<Effect>());
}
