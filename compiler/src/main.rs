fn main() {
    println!("{}", amlc::embedded::schema_text().len());
}
